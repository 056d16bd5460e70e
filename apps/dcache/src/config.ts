import type { AppConfigSpec } from '@kvforge/common-http';
import { parseByteSize } from '@kvforge/dcache';
import { hostPort, listenAddress } from '@kvforge/runtime';
import { z } from 'zod';

const byteSize = (description: string, fallback: string) =>
  z
    .string()
    .refine((text) => {
      try {
        parseByteSize(text);
        return true;
      } catch {
        return false;
      }
    }, 'must be a byte size such as 256mb, 1g or 65536')
    .default(fallback)
    .describe(description);

/** Every setting of the dcache binary, written once: flags, env names (DCACHE_*) and --help derive from it. */
export const dcacheConfigSchema = z
  .strictObject({
    nodeId: z.string().min(1).describe('Unique id of this node'),
    listen: listenAddress.default('127.0.0.1:8001').describe('host:port to bind'),
    advertise: hostPort.optional().describe('host:port peers and clients use to reach this node'),
    seeds: z.array(hostPort).default([]).describe('Nodes to join through'),
    replicas: z
      .number()
      .int()
      .min(1)
      .max(5)
      .default(2)
      .describe('Copies of each partition, primary included'),
    writeQuorum: z
      .number()
      .int()
      .min(1)
      .max(5)
      .default(2)
      .describe('Copies that must hold a write before it is acknowledged'),
    maxMemory: byteSize('Memory bound of the LRU store', '256mb'),
    maxValueBytes: byteSize('Largest value accepted', '1mb'),
    clusterToken: z
      .string()
      .min(1)
      .optional()
      .describe('Shared secret required on /internal/* and /admin/* (else loopback and members only)'),
    probeIntervalMs: z.number().int().min(10).default(1000).describe('Failure detector probe interval'),
    probeTimeoutMs: z.number().int().min(10).default(500).describe('Probe timeout (direct and indirect)'),
    deadAfterMs: z.number().int().min(0).default(5000).describe('Suspect → removed from the ring after'),
    leaveTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe('Longest wait for the hand-off on SIGTERM'),
    membership: z
      .enum(['seeds', 'etcd'])
      .default('seeds')
      .describe('seeds (built-in join/push/probe) or etcd (heartbeat keys + published table)'),
    etcdEndpoints: z.array(z.url()).default([]).describe('etcd endpoints for --membership etcd'),
    etcdPrefix: z.string().min(1).default('/dcache').describe('etcd key prefix of this cluster'),
    logLevel: z.string().default('info').describe('pino level'),
    faultInjection: z
      .boolean()
      .default(false)
      .describe('Test hook: serves POST /internal/fault/deny (cut this node off from peers); never in production'),
  })
  .refine((config) => config.writeQuorum <= config.replicas, {
    path: ['writeQuorum'],
    message: 'writeQuorum must not exceed replicas',
  })
  .refine((config) => config.membership !== 'etcd' || config.etcdEndpoints.length > 0, {
    path: ['etcdEndpoints'],
    message: '--membership etcd needs --etcd-endpoints',
  });

export type DcacheConfig = z.infer<typeof dcacheConfigSchema>;

export const DCACHE_CONFIG_SPEC: AppConfigSpec<typeof dcacheConfigSchema> = {
  name: 'dcache',
  usage: 'dcache --node-id node1 --listen 127.0.0.1:8001 [--seeds HOST:PORT,…] [options]',
  description:
    'dcache node: a peer-to-peer HTTP cache on a versioned partition ring with replication and online rebalancing.\n' +
    'Sources: config file < environment (DCACHE_*) < flags.',
  schema: dcacheConfigSchema,
  envPrefix: 'DCACHE',
  fields: {
    nodeId: { valueName: 'ID' },
    listen: { valueName: 'HOST:PORT' },
    advertise: { valueName: 'HOST:PORT', defaultText: 'the --listen address' },
    seeds: { valueName: 'HOST:PORT,…' },
    maxMemory: { valueName: 'SIZE' },
    maxValueBytes: { valueName: 'SIZE' },
    clusterToken: { valueName: 'TOKEN' },
    etcdEndpoints: { valueName: 'URL,URL' },
    logLevel: { valueName: 'LEVEL' },
  },
  configFile: { flag: 'config' },
};
