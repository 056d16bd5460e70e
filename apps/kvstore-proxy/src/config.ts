import type { AppConfigSpec } from '@kvforge/common-http';
import { hostPort, listenAddress } from '@kvforge/runtime';
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

/** Every setting of the proxy binary, written once: flags, env names and --help derive from it. */
export const proxyConfigSchema = z.strictObject({
  port: port.default(6380).describe('RESP port'),
  listen: listenAddress.optional().describe('RESP address HOST:PORT (overrides --host/--port)'),
  host: z.string().min(1).default('0.0.0.0').describe('Address to bind (RESP and HTTP)'),
  httpPort: port.default(7500).describe('HTTP API and /metrics port'),
  namespace: z
    .string({ error: 'namespace is required (--namespace)' })
    .min(1)
    .describe('kvstore namespace to serve (required)'),
  configServer: hostPort.describe('Master ConfigServer (required)'),
  slaveConfigServer: hostPort.optional().describe('Slave ConfigServer'),
  configServers: z
    .array(hostPort)
    .default([])
    .describe('Every other ConfigServer of the group; the proxy follows whichever is master'),
  password: z.string().default('').describe('Password clients must AUTH with'),
  redisPassword: z.string().default('').describe('Password of the backend Redis masters'),
  advertiseAddress: hostPort
    .optional()
    .describe('How proxy_info lists this proxy (default HOST:PORT of the RESP listener)'),
  maxQps: z.number().int().min(1).default(200_000).describe('max_qps'),
  maxClientNum: z.number().int().min(1).default(10_000).describe('max_client_num'),
  requestTimeout: z.number().int().min(0).default(10).describe('request_timeout in seconds'),
  clientTimeout: z.number().int().min(0).default(600).describe('client_timeout in seconds (0 = never)'),
  slowCmdTime: z.number().int().min(0).default(10).describe('slow_cmd_time in ms'),
  threads: z
    .number()
    .int()
    .min(0)
    .max(256)
    .default(1)
    .describe(
      'Event loops serving clients (node:cluster workers behind one port); 1 = one process, 0 = one per core',
    ),
  logLevel: z.string().default('info').describe('pino level'),
});

export type ProxyConfig = z.infer<typeof proxyConfigSchema>;

export const PROXY_CONFIG_SPEC: AppConfigSpec<typeof proxyConfigSchema> = {
  name: 'kvstore-proxy',
  usage: 'kvstore-proxy --port 6380 --http-port 7500 --namespace NS --config-server HOST:PORT [options]',
  description:
    'KvStoreProxy: a Redis protocol proxy sharding keys over the Redis masters of one kvstore namespace.\n' +
    'Sources: config file < environment < flags.',
  schema: proxyConfigSchema,
  envPrefix: 'KVSTORE_PROXY',
  fields: {
    port: { valueName: 'PORT' },
    listen: { valueName: 'HOST:PORT' },
    host: { valueName: 'HOST' },
    httpPort: { valueName: 'PORT' },
    namespace: { valueName: 'NS' },
    configServer: { valueName: 'HOST:PORT' },
    slaveConfigServer: { valueName: 'HOST:PORT' },
    configServers: { valueName: 'HOST:PORT,HOST:PORT' },
    password: { valueName: 'P' },
    redisPassword: { valueName: 'P' },
    advertiseAddress: { valueName: 'HOST:PORT' },
    logLevel: { valueName: 'LEVEL' },
  },
  configFile: { flag: 'config' },
};
