import {
  type CommandLineSpec,
  ConfigError,
  createLogger,
  installGracefulShutdown,
  loadConfig,
  parseCommandLine,
  readConfigFile,
  runMain,
} from '@kvforge/common-http';
import { createDcacheServer, DcacheNode, EtcdMembership, parseByteSize } from '@kvforge/dcache';
import { z } from 'zod';

const COMMAND_LINE: CommandLineSpec = {
  name: 'dcache',
  usage: 'dcache --node-id node1 --listen 127.0.0.1:8001 [--seeds HOST:PORT,…] [options]',
  description:
    'dcache node: a peer-to-peer HTTP cache on a versioned partition ring with replication and online rebalancing.\n' +
    'Environment: DCACHE_NODE_ID, DCACHE_LISTEN, DCACHE_SEEDS, DCACHE_CLUSTER_TOKEN, DCACHE_LOG_LEVEL (file < env < flags).',
  flags: {
    'node-id': { type: 'string', description: 'Unique id of this node', valueName: 'ID' },
    listen: {
      type: 'string',
      description: 'host:port to bind',
      default: '127.0.0.1:8001',
      valueName: 'HOST:PORT',
    },
    advertise: {
      type: 'string',
      description: 'host:port peers and clients use to reach this node',
      default: 'the --listen address',
      valueName: 'HOST:PORT',
    },
    seeds: { type: 'list', description: 'Nodes to join through', valueName: 'HOST:PORT,…' },
    replicas: { type: 'number', description: 'Copies of each partition, primary included', default: 2 },
    'write-quorum': {
      type: 'number',
      description: 'Copies that must hold a write before it is acknowledged',
      default: 2,
    },
    'max-memory': {
      type: 'string',
      description: 'Memory bound of the LRU store',
      default: '256mb',
      valueName: 'SIZE',
    },
    'max-value-bytes': {
      type: 'string',
      description: 'Largest value accepted',
      default: '1mb',
      valueName: 'SIZE',
    },
    'cluster-token': {
      type: 'string',
      description: 'Shared secret required on /internal/* and /admin/* (else loopback and members only)',
      valueName: 'TOKEN',
    },
    'probe-interval-ms': { type: 'number', description: 'Failure detector probe interval', default: 1000 },
    'probe-timeout-ms': { type: 'number', description: 'Probe timeout (direct and indirect)', default: 500 },
    'dead-after-ms': { type: 'number', description: 'Suspect → removed from the ring after', default: 5000 },
    'leave-timeout-ms': {
      type: 'number',
      description: 'Longest wait for the hand-off on SIGTERM',
      default: 30000,
    },
    membership: {
      type: 'string',
      description: 'seeds (built-in join/push/probe) or etcd (heartbeat keys + published table)',
      default: 'seeds',
    },
    'etcd-endpoints': {
      type: 'list',
      description: 'etcd endpoints for --membership etcd',
      valueName: 'URL,URL',
    },
    'etcd-prefix': { type: 'string', description: 'etcd key prefix of this cluster', default: '/dcache' },
    'log-level': { type: 'string', description: 'pino level', default: 'info', valueName: 'LEVEL' },
    config: {
      type: 'string',
      description: 'JSON or YAML config file (same keys, camelCase)',
      valueName: 'FILE',
    },
  },
};

const hostPort = z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port');
const configSchema = z.strictObject({
  nodeId: z.string().min(1),
  listen: hostPort.default('127.0.0.1:8001'),
  advertise: hostPort.optional(),
  seeds: z.array(hostPort).default([]),
  replicas: z.number().int().min(1).max(5).default(2),
  writeQuorum: z.number().int().min(1).max(5).default(2),
  maxMemory: z.string().default('256mb'),
  maxValueBytes: z.string().default('1mb'),
  clusterToken: z.string().min(1).optional(),
  probeIntervalMs: z.number().int().min(10).default(1000),
  probeTimeoutMs: z.number().int().min(10).default(500),
  deadAfterMs: z.number().int().min(0).default(5000),
  leaveTimeoutMs: z.number().int().min(0).default(30_000),
  membership: z.enum(['seeds', 'etcd']).default('seeds'),
  etcdEndpoints: z.array(z.string().url()).default([]),
  etcdPrefix: z.string().min(1).default('/dcache'),
  logLevel: z.string().default('info'),
});

async function main(): Promise<void> {
  const commandLine = parseCommandLine(process.argv.slice(2), COMMAND_LINE);
  if (commandLine.helpRequested) {
    process.stdout.write(commandLine.help);
    return;
  }
  const flags = commandLine.values;
  const env = process.env;
  const file = typeof flags.config === 'string' ? readConfigFile(flags.config) : {};
  const config = loadConfig(configSchema, [
    file,
    {
      nodeId: env.DCACHE_NODE_ID,
      listen: env.DCACHE_LISTEN,
      seeds: env.DCACHE_SEEDS?.split(',').filter((seed) => seed.length > 0),
      clusterToken: env.DCACHE_CLUSTER_TOKEN,
      logLevel: env.DCACHE_LOG_LEVEL,
    },
    {
      nodeId: flags['node-id'],
      listen: flags.listen,
      advertise: flags.advertise,
      seeds: flags.seeds,
      replicas: flags.replicas,
      writeQuorum: flags['write-quorum'],
      maxMemory: flags['max-memory'],
      maxValueBytes: flags['max-value-bytes'],
      clusterToken: flags['cluster-token'],
      probeIntervalMs: flags['probe-interval-ms'],
      probeTimeoutMs: flags['probe-timeout-ms'],
      deadAfterMs: flags['dead-after-ms'],
      leaveTimeoutMs: flags['leave-timeout-ms'],
      membership: flags.membership,
      etcdEndpoints: flags['etcd-endpoints'],
      etcdPrefix: flags['etcd-prefix'],
      logLevel: flags['log-level'],
    },
  ]);
  let maxMemoryBytes: number;
  let maxValueBytes: number;
  try {
    maxMemoryBytes = parseByteSize(config.maxMemory);
    maxValueBytes = parseByteSize(config.maxValueBytes);
  } catch (error) {
    throw new ConfigError(`maxMemory/maxValueBytes: ${(error as Error).message}`);
  }
  if (config.writeQuorum > config.replicas) throw new ConfigError('writeQuorum must not exceed replicas');
  if (config.membership === 'etcd' && config.etcdEndpoints.length === 0) {
    throw new ConfigError('--membership etcd needs --etcd-endpoints');
  }
  const separator = config.listen.lastIndexOf(':');
  const host = config.listen.slice(0, separator);
  const port = Number(config.listen.slice(separator + 1));

  const logger = createLogger({ name: 'dcache', level: config.logLevel });
  const node = new DcacheNode({
    nodeId: config.nodeId,
    address: config.advertise ?? config.listen,
    seeds: config.seeds,
    replicas: config.replicas,
    writeQuorum: config.writeQuorum,
    maxMemoryBytes,
    maxValueBytes,
    probeIntervalMs: config.probeIntervalMs,
    probeTimeoutMs: config.probeTimeoutMs,
    deadAfterMs: config.deadAfterMs,
    leaveTimeoutMs: config.leaveTimeoutMs,
    membership: config.membership === 'etcd' ? 'external' : 'seeds',
    ...(config.clusterToken === undefined ? {} : { clusterToken: config.clusterToken }),
    logger: logger.child({ component: 'node' }),
  });
  const app = await createDcacheServer({ node, logger });
  await app.listen({ host, port });
  node.start();
  const membership =
    config.membership === 'etcd'
      ? new EtcdMembership(node, { endpoints: config.etcdEndpoints, prefix: config.etcdPrefix })
      : undefined;
  await membership?.start();
  logger.info({ nodeId: config.nodeId, listen: config.listen, seeds: config.seeds }, 'dcache node listening');
  installGracefulShutdown({
    logger,
    timeoutMs: config.leaveTimeoutMs + 5000,
    onShutdown: async () => {
      // Hand partitions off before closing: the others pull them while this node still serves.
      if (membership) await membership.leave();
      else await node.leave();
      await membership?.stop();
      await app.close();
      await node.stop();
    },
  });
}

runMain(main);
