import { z } from 'zod';

/**
 * Keys of the original's `mmc-meta.conf` / `mmc-local.conf` that kvforge accepts but does not act on
 * (yet): a migrating user's file must start the service, and each such key present gets one startup
 * warning naming it. A key nobody knows stays an error (the app schemas are strict).
 */
const TLS_FIELDS = [
  'enable',
  'ca.path',
  'ca.crl.path',
  'cert.path',
  'key.path',
  'key.pass.path',
  'package.path',
  'decrypter.path',
] as const;

const tlsKeys = (prefix: string) => TLS_FIELDS.map((field) => `${prefix}.tls.${field}`);

/** Why a key is not acted on, shown in the warning and in `--help`. */
const SHARED_UNUSED: Readonly<Record<string, string>> = Object.freeze({
  'ock.mmc.log_path': 'logs go to stdout (pino); redirect or ship them',
  'ock.mmc.log_rotation_file_size': 'no log files, so no rotation',
  'ock.mmc.log_rotation_file_count': 'no log files, so no rotation',
  ...Object.fromEntries(tlsKeys('ock.mmc').map((key) => [key, 'no TLS on the meta RPC yet'])),
  ...Object.fromEntries(tlsKeys('ock.mmc.config_store').map((key) => [key, 'no separate config store'])),
});

export const UNUSED_META_KEYS: Readonly<Record<string, string>> = Object.freeze({
  ...SHARED_UNUSED,
  'ock.mmc.meta_service.config_store_url': '/metadata is served by the meta service itself',
  'ock.mmc.meta.lease_ttl_ms': 'the HA lease is ock.mmc.meta.ha.lease_seconds',
  'ock.mmc.ubs_io.enable': 'no SSD tier',
  'ock.mmc.rewarm.dram_watermark': 'no SSD tier',
});

export const UNUSED_LOCAL_KEYS: Readonly<Record<string, string>> = Object.freeze({
  ...SHARED_UNUSED,
  'ock.mmc.local_service.config_store_url': 'ranks are given by --rank, no config store',
  'ock.mmc.local_service.hcom_url': 'the data listener is --data-listen (TCP)',
  ...Object.fromEntries(
    tlsKeys('ock.mmc.local_service.hcom').map((key) => [key, 'no TLS on the data protocol yet']),
  ),
  'ock.mmc.local_service.max.dram.size': 'the segment is exactly dram.size',
  'ock.mmc.local_service.max.hbm.size': 'the segment is exactly hbm.size',
  'ock.mmc.local_service.storage.enabled': 'no SSD tier',
  'ock.mmc.client.retry_milliseconds': 'the local service retries its meta connection itself',
  'ock.mmc.client.timeout.seconds': 'client options are MemCacheClient options',
  'ock.mmc.client.read_thread_pool.size': 'one event loop; transfers use data lanes',
  'ock.mmc.client.write_thread_pool.size': 'one event loop; transfers use data lanes',
  'ock.mmc.client.aggregate.io': 'batches are aggregated per meta RPC always',
  'ock.mmc.client.aggregate.num': 'batches are aggregated per meta RPC always',
  'ock.mmc.local_service.memory.pool.mode': 'no global virtual address space to size',
});

/** A zod shape of optional string fields, one per accepted-but-unused key, for an app schema. */
export function unusedKeyFields(
  keys: Readonly<Record<string, string>>,
): Record<string, z.ZodOptional<z.ZodString>> {
  return Object.fromEntries(
    Object.entries(keys).map(([key, why]) => [
      key,
      z.string().optional().describe(`accepted, not acted on: ${why}`),
    ]),
  );
}

/** One warning text per unused key the config actually sets (file or flag), in key order. */
export function unusedKeyWarnings(
  config: Readonly<Record<string, unknown>>,
  keys: Readonly<Record<string, string>>,
): string[] {
  return Object.entries(keys)
    .filter(([key]) => config[key] !== undefined)
    .map(([key, why]) => `config key ${key} is accepted but not acted on: ${why}`);
}
