import type { AppConfigSpec } from '@kvforge/common-http';
import {
  type MetaServiceServerOptions,
  metaServiceUrl,
  metricsUrl,
  readKeyValueFile,
  segmentMountList,
  UNUSED_META_KEYS,
  unusedKeyFields,
} from '@kvforge/memcache-hybrid';
import { z } from 'zod';

/** The original's `ock.mmc.*` keys (meta service), plus ours marked "kvforge". Each field is written once. */
export const metaServiceConfigSchema = z
  .object({
    'ock.mmc.meta_service_url': metaServiceUrl.default('tcp://127.0.0.1:5000').describe('Meta RPC listener'),
    'ock.mmc.meta_service.metrics_url': metricsUrl
      .default('http://127.0.0.1:8000')
      .describe('REST listener (http:// only)'),
    'ock.mmc.evict_threshold_high': z.coerce
      .number()
      .int()
      .min(1)
      .max(99)
      .default(90)
      .describe('Eviction starts above this % of a medium'),
    'ock.mmc.evict_threshold_low': z.coerce
      .number()
      .int()
      .min(0)
      .max(98)
      .default(80)
      .describe('Eviction stops at this % (below the high mark)'),
    'ock.mmc.log_level': z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
      .default('info')
      .describe('Log level'),
    // kvforge additions
    'ock.mmc.lease_ms': z.coerce
      .number()
      .int()
      .positive()
      .default(2000)
      .describe('Reader lease in ms (kvforge)'),
    'ock.mmc.allocated_timeout_ms': z.coerce
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe('Reclaim never-committed objects after ms, 0 = never (kvforge)'),
    'ock.mmc.local_service.lease_ms': z.coerce
      .number()
      .int()
      .min(0)
      .default(10_000)
      .describe(
        'Drop a local service silent (no request, no heartbeat) this long; 0 = on link loss only (kvforge)',
      ),
    'ock.mmc.ptracer.enable': z.stringbool().default(true).describe('ptracer timings (kvforge)'),
    'ock.mmc.rpc.max_frame_bytes': z.coerce
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024)
      .describe('Largest meta RPC frame; a bigger one closes the connection (kvforge)'),
    'ock.mmc.meta_service.metadata_path': z
      .string()
      .default('')
      .describe('The /metadata file (atomic rename + fsync); empty = in memory (kvforge)'),
    'ock.mmc.mount': segmentMountList
      .default([])
      .describe('Segments mounted at start, rank:HBM|DRAM:size,… e.g. 0:DRAM:1GB (kvforge)'),
    'ock.mmc.meta.ha.enable': z
      .stringbool()
      .default(false)
      .describe('Active/standby election with an etcd lease; only the leader serves'),
    'ock.mmc.meta.ha.etcd_endpoints': z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== '')
          .map((entry) => (entry.includes('://') ? entry : `http://${entry}`)),
      )
      .describe('etcd client endpoints HOST:PORT[,...] for the election (kvforge)'),
    'ock.mmc.meta.ha.lease_seconds': z.coerce
      .number()
      .int()
      .min(1)
      .default(10)
      .describe("Leader lease TTL in seconds (the original's Kubernetes Lease duration) (kvforge)"),
    'ock.mmc.meta.ha.election_key': z
      .string()
      .min(1)
      .default('/kvforge/memcache-hybrid/meta-leader')
      .describe('The etcd key the pair campaigns on: one per meta-service pair (kvforge)'),
    // The original's keys we accept without acting on them: each one set is warned about at start.
    ...unusedKeyFields(UNUSED_META_KEYS),
  })
  .strict()
  .refine(
    (config) => !config['ock.mmc.meta.ha.enable'] || config['ock.mmc.meta.ha.etcd_endpoints'].length > 0,
    {
      message: 'ock.mmc.meta.ha.enable needs ock.mmc.meta.ha.etcd_endpoints',
      path: ['ock.mmc.meta.ha.etcd_endpoints'],
    },
  )
  .refine((config) => config['ock.mmc.evict_threshold_low'] < config['ock.mmc.evict_threshold_high'], {
    message: 'ock.mmc.evict_threshold_low must be below ock.mmc.evict_threshold_high',
    path: ['ock.mmc.evict_threshold_low'],
  });

export type MetaServiceConfig = z.infer<typeof metaServiceConfigSchema>;

/** The environment variable the original reads for its config file. */
export const CONFIG_PATH_ENV = 'MMC_META_CONFIG_PATH';

export const META_SERVICE_CONFIG: AppConfigSpec<typeof metaServiceConfigSchema> = {
  name: 'memcache-meta-service',
  usage: 'memcache-meta-service [--config FILE] [--ock.mmc.KEY=VALUE ...]',
  description:
    'memcache-hybrid meta service: object metadata, segment allocation and eviction over meta RPC, plus the REST API.\n' +
    `Config: the original key = value file (--config, or ${CONFIG_PATH_ENV}) < flags --ock.mmc.KEY=VALUE.`,
  schema: metaServiceConfigSchema,
  flagStyle: 'path',
  fields: {
    'ock.mmc.rpc.max_frame_bytes': { defaultText: '64 MiB' },
    'ock.mmc.mount': { defaultText: '(none)', valueName: 'MOUNTS' },
    'ock.mmc.meta_service.metadata_path': { defaultText: '(in memory)', valueName: 'FILE' },
  },
  configFile: { flag: 'config', env: CONFIG_PATH_ENV, read: readKeyValueFile },
};

/** The typed options of the package's server, from the config (names only: no logic here). */
export function serverOptions(config: MetaServiceConfig): Omit<MetaServiceServerOptions, 'logger'> {
  return {
    rpcUrl: config['ock.mmc.meta_service_url'],
    restUrl: config['ock.mmc.meta_service.metrics_url'],
    service: {
      evictThresholdHigh: config['ock.mmc.evict_threshold_high'],
      evictThresholdLow: config['ock.mmc.evict_threshold_low'],
      leaseMilliseconds: config['ock.mmc.lease_ms'],
      allocatedTimeoutMilliseconds: config['ock.mmc.allocated_timeout_ms'],
      ptracerEnabled: config['ock.mmc.ptracer.enable'],
    },
    rpcLimits: { maxFrameBytes: config['ock.mmc.rpc.max_frame_bytes'] },
    mounts: config['ock.mmc.mount'],
    metadataPath: config['ock.mmc.meta_service.metadata_path'],
    localServiceLeaseMs: config['ock.mmc.local_service.lease_ms'],
    ...(config['ock.mmc.meta.ha.enable']
      ? {
          ha: {
            etcdEndpoints: config['ock.mmc.meta.ha.etcd_endpoints'],
            leaseSeconds: config['ock.mmc.meta.ha.lease_seconds'],
            key: config['ock.mmc.meta.ha.election_key'],
          },
        }
      : {}),
  };
}
