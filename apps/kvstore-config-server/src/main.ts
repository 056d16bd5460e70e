import {
  type CommandLineSpec,
  ConfigError,
  createHttpServer,
  createLogger,
  installGracefulShutdown,
  loadConfig,
  parseCommandLine,
  readConfigFile,
  runMain,
} from '@kvforge/common-http';
import {
  BucketMigrator,
  ConfigServer,
  type ConfigStateStore,
  configServerPlugin,
  EtcdStateStore,
  FileStateStore,
  KVSTORE_ERROR_ENVELOPE,
} from '@kvforge/kvstore';
import { z } from 'zod';

const COMMAND_LINE: CommandLineSpec = {
  name: 'kvstore-config-server',
  usage: 'kvstore-config-server --http-port 7000 --data-dir DIR [options]',
  description:
    'kvstore ConfigServer: owns the bucket table of every namespace and pushes changes to KvStoreProxies.\n' +
    'Environment: KVSTORE_CS_HOST, KVSTORE_CS_HTTP_PORT, KVSTORE_CS_DATA_DIR, KVSTORE_CS_IS_MASTER,\n' +
    'KVSTORE_CS_SUPPORT_HA, KVSTORE_CS_LOG_LEVEL (file < env < flags).',
  flags: {
    'http-port': { type: 'number', description: 'HTTP API port', default: 7000, valueName: 'PORT' },
    host: { type: 'string', description: 'Address to bind', default: '0.0.0.0', valueName: 'HOST' },
    store: { type: 'string', description: 'State store: file (in --data-dir) or etcd', default: 'file' },
    'etcd-endpoints': { type: 'list', description: 'etcd endpoints for --store etcd', valueName: 'URL,URL' },
    'data-dir': {
      type: 'string',
      description: 'Directory of the state file',
      default: './data',
      valueName: 'DIR',
    },
    'is-master': { type: 'boolean', description: 'Accept writes (a slave answers 1004)', default: true },
    'support-ha': {
      type: 'boolean',
      description: 'Initial support_ha when the state is empty',
      default: false,
    },
    'cluster-type': {
      type: 'string',
      description: 'cluster_type reported by get_config without a namespace (cache|data_store)',
      default: 'data_store',
    },
    'max-watch-ms': {
      type: 'number',
      description: 'Longest proxy long-poll',
      default: 30000,
      valueName: 'MS',
    },
    'proxy-timeout-ms': {
      type: 'number',
      description: 'A proxy silent this long is OFFLINE',
      default: 30000,
      valueName: 'MS',
    },
    'redis-password': {
      type: 'string',
      description: 'Password of the Redis masters (online migration)',
      valueName: 'P',
    },
    'log-level': { type: 'string', description: 'pino level', default: 'info', valueName: 'LEVEL' },
    config: {
      type: 'string',
      description: 'JSON or YAML config file (same keys, camelCase)',
      valueName: 'FILE',
    },
  },
};

const configSchema = z.strictObject({
  httpPort: z.number().int().min(0).max(65535).default(7000),
  host: z.string().min(1).default('0.0.0.0'),
  dataDir: z.string().min(1).default('./data'),
  store: z.enum(['file', 'etcd']).default('file'),
  etcdEndpoints: z.array(z.string().url()).default([]),
  isMaster: z.boolean().default(true),
  supportHa: z.boolean().default(false),
  clusterType: z.enum(['cache', 'data_store']).default('data_store'),
  maxWatchMs: z.number().int().min(0).default(30_000),
  proxyTimeoutMs: z.number().int().min(1).default(30_000),
  redisPassword: z.string().default(''),
  logLevel: z.string().default('info'),
});

function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const boolean = (value: string | undefined) =>
    value === undefined ? undefined : z.stringbool().parse(value);
  return {
    host: env.KVSTORE_CS_HOST,
    httpPort: env.KVSTORE_CS_HTTP_PORT === undefined ? undefined : Number(env.KVSTORE_CS_HTTP_PORT),
    dataDir: env.KVSTORE_CS_DATA_DIR,
    isMaster: boolean(env.KVSTORE_CS_IS_MASTER),
    supportHa: boolean(env.KVSTORE_CS_SUPPORT_HA),
    logLevel: env.KVSTORE_CS_LOG_LEVEL,
    redisPassword: env.KVSTORE_CS_REDIS_PASSWORD,
  };
}

async function main(): Promise<void> {
  const commandLine = parseCommandLine(process.argv.slice(2), COMMAND_LINE);
  if (commandLine.helpRequested) {
    process.stdout.write(commandLine.help);
    return;
  }
  const flags = commandLine.values;
  const file = typeof flags.config === 'string' ? readConfigFile(flags.config) : {};
  const config = loadConfig(configSchema, [
    file,
    fromEnvironment(process.env),
    {
      httpPort: flags['http-port'],
      host: flags.host,
      dataDir: flags['data-dir'],
      store: flags.store,
      etcdEndpoints: flags['etcd-endpoints'],
      isMaster: flags['is-master'],
      supportHa: flags['support-ha'],
      clusterType: flags['cluster-type'],
      maxWatchMs: flags['max-watch-ms'],
      proxyTimeoutMs: flags['proxy-timeout-ms'],
      redisPassword: flags['redis-password'],
      logLevel: flags['log-level'],
    },
  ]);

  const logger = createLogger({ name: 'kvstore-config-server', level: config.logLevel });
  if (config.store === 'etcd' && config.etcdEndpoints.length === 0) {
    throw new ConfigError('--store etcd needs --etcd-endpoints');
  }
  const store: ConfigStateStore =
    config.store === 'etcd'
      ? new EtcdStateStore({ endpoints: config.etcdEndpoints })
      : new FileStateStore(config.dataDir);
  const configServer = await ConfigServer.open({
    store,
    isMaster: config.isMaster,
    supportHa: config.supportHa,
    defaultClusterType: config.clusterType,
    proxyTimeoutMs: config.proxyTimeoutMs,
  });
  const app = createHttpServer({ logger, errorEnvelope: KVSTORE_ERROR_ENVELOPE });
  const migrator = new BucketMigrator(configServer, { redisPassword: config.redisPassword });
  await app.register(configServerPlugin, { configServer, migrator, maxWatchMs: config.maxWatchMs });
  await app.listen({ host: config.host, port: config.httpPort });
  // A migration the previous run left in flight (persisted in the store) continues now.
  for (const job of migrator.resume()) {
    logger.info({ namespace: job.namespace, remaining: job.remaining_buckets }, 'migration resumed');
  }
  logger.info(
    { port: config.httpPort, dataDir: config.dataDir, namespaces: configServer.namespaceList() },
    'config server listening',
  );
  installGracefulShutdown({
    logger,
    onShutdown: async () => {
      await app.close();
      await store.close?.();
    },
  });
}

runMain(main);
