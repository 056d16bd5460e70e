import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';

/** The proxy's runtime settings; every field can be changed by `/kvstore/proxy/set_config` without restart. */
export interface ProxyRuntimeConfig {
  /** Requests per second over all clients (fixed one-second window). */
  max_qps: number;
  max_client_num: number;
  /** A request slower than this (ms) counts in `slow_cmd_count`. */
  slow_cmd_time: number;
  /** Idle clients are closed after this many seconds (0 = never). */
  client_timeout: number;
  /** A backend unreachable this long (s) is reported to the ConfigServer. */
  redis_down_timeout: number;
  /** A request without a reply after this many seconds gets `-ERR request timeout`. */
  request_timeout: number;
  update_slave_interval: number;
  master_cs_ip: string;
  master_cs_port: number;
  slave_cs_ip: string;
  slave_cs_port: number;
  redis_password: string;
}

/** The original's KvStoreProxy.conf defaults. */
export const DEFAULT_PROXY_RUNTIME_CONFIG: ProxyRuntimeConfig = {
  max_qps: 200_000,
  max_client_num: 10_000,
  slow_cmd_time: 10,
  client_timeout: 600,
  redis_down_timeout: 20,
  request_timeout: 10,
  update_slave_interval: 3600,
  master_cs_ip: '',
  master_cs_port: 0,
  slave_cs_ip: '',
  slave_cs_port: 0,
  redis_password: '',
};

const STRING_FIELDS = new Set(['master_cs_ip', 'slave_cs_ip', 'redis_password']);
const PORT_FIELDS = new Set(['master_cs_port', 'slave_cs_port']);

/** Validates a partial update; unknown names → NO_SUCH_CONFIG, bad values → INVALID_INPUT. Nothing applies on error. */
export function validateConfigUpdate(input: Record<string, unknown>): Partial<ProxyRuntimeConfig> {
  const update: Record<string, unknown> = {};
  const names = Object.keys(input);
  if (names.length === 0) throw new KvstoreError(KVSTORE_ERROR_CODES.NO_SUCH_CONFIG, 'no parameter given');
  for (const name of names) {
    const value = input[name];
    if (!(name in DEFAULT_PROXY_RUNTIME_CONFIG)) {
      throw new KvstoreError(KVSTORE_ERROR_CODES.NO_SUCH_CONFIG, name);
    }
    if (STRING_FIELDS.has(name)) {
      if (typeof value !== 'string')
        throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_INPUT, `${name} must be a string`);
    } else if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_INPUT, `${name} must be a non-negative integer`);
    } else if (PORT_FIELDS.has(name) && value > 65535) {
      throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_INPUT, `${name} must be a port`);
    }
    update[name] = value;
  }
  return update as Partial<ProxyRuntimeConfig>;
}
