import type { AppConfigSpec } from '@kvforge/common-http';
import { z } from 'zod';

/** Every setting of the ConfigServer binary, written once: flags, env names and --help derive from it. */
export const configServerConfigSchema = z
  .strictObject({
    httpPort: z.number().int().min(0).max(65535).default(7000).describe('HTTP API port'),
    host: z.string().min(1).default('0.0.0.0').describe('Address to bind'),
    store: z.enum(['file', 'etcd']).default('file').describe('State store: file (in --data-dir) or etcd'),
    etcdEndpoints: z.array(z.url()).default([]).describe('etcd endpoints for --store etcd'),
    electionTtlSeconds: z
      .number()
      .int()
      .min(1)
      .default(5)
      .describe('etcd mode: master lease; a dead master is replaced after this long'),
    advertiseAddress: z
      .string()
      .optional()
      .describe('How other ConfigServers and proxies reach this one (default 127.0.0.1:HTTP_PORT)'),
    dataDir: z.string().min(1).default('./data').describe('Directory of the state file'),
    isMaster: z.boolean().default(true).describe('Accept writes (a slave answers 1004)'),
    peerConfigServer: z
      .string()
      .optional()
      .describe(
        'File store: the other ConfigServer of the pair. A slave replicates its state; a master that finds it master starts as its slave',
      ),
    supportHa: z.boolean().default(false).describe('Initial support_ha when the state is empty'),
    clusterType: z
      .enum(['cache', 'data_store'])
      .default('data_store')
      .describe('cluster_type reported by get_config without a namespace (cache|data_store)'),
    maxWatchMs: z.number().int().min(0).default(30_000).describe('Longest proxy long-poll'),
    proxyTimeoutMs: z.number().int().min(1).default(30_000).describe('A proxy silent this long is OFFLINE'),
    redisPassword: z.string().default('').describe('Password of the Redis masters (online migration)'),
    maxMigrateKeysPerSecond: z
      .number()
      .min(0)
      .default(0)
      .describe('Default keys/s limit of an online migration (0: unlimited; migrate_bucket may set its own)'),
    migrateBigKeyBytes: z
      .number()
      .int()
      .min(0)
      .default(8 << 20)
      .describe('A key over this many bytes (MEMORY USAGE) migrates in chunks, not one MIGRATE (0: never)'),
    migrateBigKeyChunkElements: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe('Elements per chunk of a big key (SSCAN/HSCAN/ZSCAN COUNT, LRANGE span)'),
    logLevel: z.string().default('info').describe('pino level'),
  })
  .refine((config) => config.store !== 'etcd' || config.etcdEndpoints.length > 0, {
    path: ['etcdEndpoints'],
    message: '--store etcd needs --etcd-endpoints',
  });

export type ConfigServerConfig = z.infer<typeof configServerConfigSchema>;

export const CONFIG_SERVER_CONFIG_SPEC: AppConfigSpec<typeof configServerConfigSchema> = {
  name: 'kvstore-config-server',
  usage: 'kvstore-config-server --http-port 7000 --data-dir DIR [options]',
  description:
    'kvstore ConfigServer: owns the bucket table of every namespace and pushes changes to KvStoreProxies.\n' +
    'Sources: config file < environment < flags.',
  schema: configServerConfigSchema,
  envPrefix: 'KVSTORE_CS',
  fields: {
    httpPort: { valueName: 'PORT' },
    host: { valueName: 'HOST' },
    etcdEndpoints: { valueName: 'URL,URL' },
    electionTtlSeconds: { valueName: 'S' },
    advertiseAddress: { valueName: 'HOST:PORT' },
    dataDir: { valueName: 'DIR' },
    peerConfigServer: { valueName: 'HOST:PORT' },
    maxWatchMs: { valueName: 'MS' },
    proxyTimeoutMs: { valueName: 'MS' },
    redisPassword: { valueName: 'P' },
    maxMigrateKeysPerSecond: { valueName: 'N' },
    migrateBigKeyBytes: { valueName: 'BYTES' },
    migrateBigKeyChunkElements: { valueName: 'N' },
    logLevel: { valueName: 'LEVEL' },
  },
  configFile: { flag: 'config' },
};
