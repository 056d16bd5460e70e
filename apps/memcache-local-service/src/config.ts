import type { AppConfigSpec } from '@kvforge/common-http';
import {
  byteSize,
  dataListenAddress,
  type LocalServiceOptions,
  metaServiceUrlList,
  readKeyValueFile,
  UNUSED_LOCAL_KEYS,
  unusedKeyFields,
} from '@kvforge/memcache-hybrid';
import { z } from 'zod';

/** Host segments are aligned down to 2 MB, as the original does for host_* protocols. */
const SEGMENT_ALIGNMENT = 2 * 1024 * 1024;

/** The original's `ock.mmc.local_service.*` keys, plus ours marked "kvforge". Each field is written once. */
export const localServiceConfigSchema = z
  .object({
    rank: z.coerce
      .number()
      .int()
      .min(0)
      .max(1023)
      .describe('This local service rank (kvforge: the original derives it)'),
    data_listen: dataListenAddress
      .default({ host: '127.0.0.1', port: 0 })
      .describe('Data protocol listener HOST:PORT; port 0 = ephemeral (kvforge)'),
    'ock.mmc.meta_service_url': metaServiceUrlList
      .default('tcp://127.0.0.1:5000')
      .describe('The meta service; an HA pair comma-separated, the leader is followed'),
    'ock.mmc.log_level': z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
      .default('info')
      .describe('Log level'),
    'ock.mmc.local_service.world_size': z.coerce
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(256)
      .describe('Ranks in the pool; --rank must be below it'),
    'ock.mmc.local_service.protocol': z
      .enum(['host_rdma', 'host_urma', 'host_tcp', 'host_shm', 'device_rdma', 'device_sdma'])
      .default('host_tcp')
      .describe('Transport: every value runs TCP here; host_shm also offers DRAM as a /dev/shm file'),
    'ock.mmc.local_service.dram.size': byteSize
      .default(128 * 1024 * 1024)
      .describe('DRAM segment (2048KB, 200mb, 2.5GB, 1TB; aligned down to 2 MB)'),
    'ock.mmc.local_service.hbm.size': byteSize
      .default(0)
      .describe('HBM segment, host memory here (same syntax and alignment)'),
    // kvforge additions
    'ock.mmc.local_service.shm.enable': z
      .stringbool()
      .default(false)
      .describe('Hold DRAM in a /dev/shm file for same-host clients (kvforge; implied by host_shm)'),
    'ock.mmc.local_service.shm.directory': z
      .string()
      .default('/dev/shm')
      .describe('Where the shared-memory segment file lives (kvforge)'),
    'ock.mmc.local_service.heartbeat_ms': z.coerce
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('PING to the meta service this often; it drops a rank silent past its lease (kvforge)'),
    'ock.mmc.local_service.max_transfer_bytes': byteSize
      .default(64 * 1024 * 1024)
      .describe('Largest data-protocol slice; a bigger request closes the connection (kvforge)'),
    ...unusedKeyFields(UNUSED_LOCAL_KEYS),
  })
  .strict()
  .refine((config) => config.rank < config['ock.mmc.local_service.world_size'], {
    message: '--rank must be below ock.mmc.local_service.world_size',
    path: ['rank'],
  })
  .refine(
    (config) =>
      alignDown(config['ock.mmc.local_service.dram.size']) +
        alignDown(config['ock.mmc.local_service.hbm.size']) >
      0,
    {
      message: 'after alignment to 2 MB, ock.mmc.local_service.dram.size and hbm.size are both 0',
      path: ['ock.mmc.local_service.dram.size'],
    },
  );

export type LocalServiceConfig = z.infer<typeof localServiceConfigSchema>;

/** The environment variable the original reads for its config file. */
export const CONFIG_PATH_ENV = 'MMC_LOCAL_CONFIG_PATH';

export const LOCAL_SERVICE_CONFIG: AppConfigSpec<typeof localServiceConfigSchema> = {
  name: 'memcache-local-service',
  usage:
    'memcache-local-service --rank N [--config FILE] [--data-listen HOST:PORT] [--ock.mmc.KEY=VALUE ...]',
  description:
    "memcache-hybrid local service: holds one rank's DRAM/HBM segments as real memory, mounts them with the meta\n" +
    'service and serves their bytes over the data protocol.\n' +
    `Config: the original key = value file (--config, or ${CONFIG_PATH_ENV}) < flags.`,
  schema: localServiceConfigSchema,
  flagStyle: 'path',
  fields: {
    rank: { valueName: 'N' },
    data_listen: { flag: 'data-listen', valueName: 'HOST:PORT', defaultText: '127.0.0.1:0' },
    'ock.mmc.local_service.dram.size': { defaultText: '128MB', valueName: 'SIZE' },
    'ock.mmc.local_service.hbm.size': { defaultText: '0', valueName: 'SIZE' },
    'ock.mmc.local_service.max_transfer_bytes': { defaultText: '64MB', valueName: 'SIZE' },
  },
  configFile: { flag: 'config', env: CONFIG_PATH_ENV, read: readKeyValueFile },
};

function alignDown(bytes: number): number {
  return Math.floor(bytes / SEGMENT_ALIGNMENT) * SEGMENT_ALIGNMENT;
}

/** The package's local service options from the config (names and the alignment rule only). */
export function localServiceOptions(
  config: LocalServiceConfig,
): Omit<LocalServiceOptions, 'logger' | 'clock' | 'createHbmBackend'> {
  return {
    rank: config.rank,
    metaUrl: config['ock.mmc.meta_service_url'],
    dramBytes: alignDown(config['ock.mmc.local_service.dram.size']),
    hbmBytes: alignDown(config['ock.mmc.local_service.hbm.size']),
    dataHost: config.data_listen.host,
    dataPort: config.data_listen.port,
    sharedMemory:
      config['ock.mmc.local_service.shm.enable'] || config['ock.mmc.local_service.protocol'] === 'host_shm',
    sharedMemoryDirectory: config['ock.mmc.local_service.shm.directory'],
    heartbeatMs: config['ock.mmc.local_service.heartbeat_ms'],
    metaRetryMs: 10_000,
    maxTransferBytes: config['ock.mmc.local_service.max_transfer_bytes'],
  };
}
