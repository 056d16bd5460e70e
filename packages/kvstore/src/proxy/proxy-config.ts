import { z } from 'zod';

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

const count = z.number().int().min(0);
const port = count.max(65535);

/**
 * A `set_config` body: any subset of the settings, nothing else (an unknown name is 1003 "invalid
 * input"), at least one. Nothing applies when any field is wrong.
 */
export const PROXY_CONFIG_UPDATE_SCHEMA = z
  .strictObject({
    max_qps: count,
    max_client_num: count,
    slow_cmd_time: count,
    client_timeout: count,
    redis_down_timeout: count,
    request_timeout: count,
    update_slave_interval: count,
    master_cs_ip: z.string(),
    master_cs_port: port,
    slave_cs_ip: z.string(),
    slave_cs_port: port,
    redis_password: z.string(),
  })
  .partial()
  .refine((update) => Object.keys(update).length > 0, { message: 'no parameter given' });
