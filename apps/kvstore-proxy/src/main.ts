import {
  type CommandLineSpec,
  createHttpServer,
  createLogger,
  installGracefulShutdown,
  loadConfig,
  parseCommandLine,
  readConfigFile,
  runMain,
} from '@kvforge/common-http';
import {
  ConfigServerClient,
  isValidAddress,
  KVSTORE_ERROR_ENVELOPE,
  KvStoreProxy,
  proxyPlugin,
  RedisMonitor,
} from '@kvforge/kvstore';
import { createMetricsRegistry } from '@kvforge/metrics';
import { z } from 'zod';

const COMMAND_LINE: CommandLineSpec = {
  name: 'kvstore-proxy',
  usage: 'kvstore-proxy --port 6380 --http-port 7500 --namespace NS --config-server HOST:PORT [options]',
  description:
    'KvStoreProxy: a Redis protocol proxy sharding keys over the Redis masters of one kvstore namespace.\n' +
    'Environment: KVSTORE_PROXY_PASSWORD, KVSTORE_PROXY_REDIS_PASSWORD, KVSTORE_PROXY_NAMESPACE,\n' +
    'KVSTORE_PROXY_CONFIG_SERVER, KVSTORE_PROXY_LOG_LEVEL (file < env < flags).',
  flags: {
    port: { type: 'number', description: 'RESP port', default: 6380, valueName: 'PORT' },
    listen: {
      type: 'string',
      description: 'RESP address HOST:PORT (overrides --host/--port)',
      valueName: 'HOST:PORT',
    },
    host: {
      type: 'string',
      description: 'Address to bind (RESP and HTTP)',
      default: '0.0.0.0',
      valueName: 'HOST',
    },
    'http-port': {
      type: 'number',
      description: 'HTTP API and /metrics port',
      default: 7500,
      valueName: 'PORT',
    },
    namespace: { type: 'string', description: 'kvstore namespace to serve (required)', valueName: 'NS' },
    'config-server': {
      type: 'string',
      description: 'Master ConfigServer (required)',
      valueName: 'HOST:PORT',
    },
    'slave-config-server': { type: 'string', description: 'Slave ConfigServer', valueName: 'HOST:PORT' },
    password: { type: 'string', description: 'Password clients must AUTH with', valueName: 'P' },
    'redis-password': {
      type: 'string',
      description: 'Password of the backend Redis masters',
      valueName: 'P',
    },
    'advertise-address': {
      type: 'string',
      description: 'How proxy_info lists this proxy (default HOST:PORT of the RESP listener)',
      valueName: 'HOST:PORT',
    },
    'max-qps': { type: 'number', description: 'max_qps', default: 200000 },
    'max-client-num': { type: 'number', description: 'max_client_num', default: 10000 },
    'request-timeout': { type: 'number', description: 'request_timeout in seconds', default: 10 },
    'client-timeout': { type: 'number', description: 'client_timeout in seconds (0 = never)', default: 600 },
    'slow-cmd-time': { type: 'number', description: 'slow_cmd_time in ms', default: 10 },
    'log-level': { type: 'string', description: 'pino level', default: 'info', valueName: 'LEVEL' },
    config: {
      type: 'string',
      description: 'JSON or YAML config file (same keys, camelCase)',
      valueName: 'FILE',
    },
  },
};

const address = z.string().refine(isValidAddress, 'must be HOST:PORT');

const configSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(6380),
  httpPort: z.number().int().min(0).max(65535).default(7500),
  namespace: z.string({ error: 'namespace is required (--namespace)' }).min(1),
  configServer: address,
  slaveConfigServer: address.optional(),
  password: z.string().default(''),
  redisPassword: z.string().default(''),
  advertiseAddress: address.optional(),
  maxQps: z.number().int().min(1).default(200_000),
  maxClientNum: z.number().int().min(1).default(10_000),
  requestTimeout: z.number().int().min(0).default(10),
  clientTimeout: z.number().int().min(0).default(600),
  slowCmdTime: z.number().int().min(0).default(10),
  logLevel: z.string().default('info'),
});

function splitAddress(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(':');
  return { host: value.slice(0, colon), port: Number(value.slice(colon + 1)) };
}

async function main(): Promise<void> {
  const commandLine = parseCommandLine(process.argv.slice(2), COMMAND_LINE);
  if (commandLine.helpRequested) {
    process.stdout.write(commandLine.help);
    return;
  }
  const flags = commandLine.values;
  const listen = typeof flags.listen === 'string' ? splitAddress(flags.listen) : undefined;
  const env = process.env;
  const config = loadConfig(configSchema, [
    typeof flags.config === 'string' ? readConfigFile(flags.config) : {},
    {
      password: env.KVSTORE_PROXY_PASSWORD,
      redisPassword: env.KVSTORE_PROXY_REDIS_PASSWORD,
      namespace: env.KVSTORE_PROXY_NAMESPACE,
      configServer: env.KVSTORE_PROXY_CONFIG_SERVER,
      logLevel: env.KVSTORE_PROXY_LOG_LEVEL,
    },
    {
      host: listen?.host ?? flags.host,
      port: listen?.port ?? flags.port,
      httpPort: flags['http-port'],
      namespace: flags.namespace,
      configServer: flags['config-server'],
      slaveConfigServer: flags['slave-config-server'],
      password: flags.password,
      redisPassword: flags['redis-password'],
      advertiseAddress: flags['advertise-address'],
      maxQps: flags['max-qps'],
      maxClientNum: flags['max-client-num'],
      requestTimeout: flags['request-timeout'],
      clientTimeout: flags['client-timeout'],
      slowCmdTime: flags['slow-cmd-time'],
      logLevel: flags['log-level'],
    },
  ]);

  const logger = createLogger({ name: 'kvstore-proxy', level: config.logLevel });
  const master = splitAddress(config.configServer);
  const slave = config.slaveConfigServer ? splitAddress(config.slaveConfigServer) : undefined;
  const proxy = new KvStoreProxy({
    namespace: config.namespace,
    host: config.host,
    port: config.port,
    password: config.password,
    logger: logger.child({ component: 'proxy' }),
    config: {
      redis_password: config.redisPassword,
      max_qps: config.maxQps,
      max_client_num: config.maxClientNum,
      request_timeout: config.requestTimeout,
      client_timeout: config.clientTimeout,
      slow_cmd_time: config.slowCmdTime,
      master_cs_ip: master.host,
      master_cs_port: master.port,
      slave_cs_ip: slave?.host ?? '',
      slave_cs_port: slave?.port ?? 0,
    },
  });
  const advertised =
    config.advertiseAddress ?? `${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
  let connected = false;
  // HA: probe every backend; report it down/up to the ConfigServer, which fails over once every proxy agrees.
  const monitor = new RedisMonitor({
    downTimeoutSeconds: () => proxy.config.redis_down_timeout,
    password: () => proxy.config.redis_password,
    onStateChange: (address, state, replica) => {
      logger.warn({ address, state, replica }, 'backend state changed');
      configServerClient
        .reportRedisState(address, state, replica)
        .then((action) => logger.info({ address, state, action }, 'reported backend state'))
        .catch((error: unknown) => logger.warn({ error: (error as Error).message }, 'report failed'));
    },
  });
  const configServerClient = new ConfigServerClient({
    namespace: config.namespace,
    master: config.configServer,
    ...(config.slaveConfigServer ? { slave: config.slaveConfigServer } : {}),
    proxyInfo: advertised,
    onTable: (table) => {
      connected = true;
      const previous = new Set(proxy.currentTable?.owners ?? []);
      proxy.setTable(table);
      monitor
        .onTable(previous, table.owners)
        .then((promoted) => promoted.length > 0 && logger.info({ promoted }, 'promoted replica to master'))
        .catch((error: unknown) => logger.warn({ error: (error as Error).message }, 'promotion failed'));
    },
    onError: (error, server) => {
      connected = false;
      logger.warn({ server, error: (error as Error).message }, 'config server poll failed');
    },
  });
  // Like the original, a proxy that cannot get its table at startup does not start.
  let initialError: unknown;
  for (let attempt = 0; attempt < 10 && !proxy.currentTable; attempt++) {
    try {
      await configServerClient.fetchInitial();
    } catch (error) {
      initialError = error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  if (!proxy.currentTable) {
    throw new Error(
      `cannot get the bucket table of ${config.namespace}: ${(initialError as Error)?.message}`,
    );
  }
  configServerClient.start();
  monitor.start();

  const registry = createMetricsRegistry({ service: 'kvstore-proxy', collectDefaultMetrics: true });
  const app = createHttpServer({ logger, errorEnvelope: KVSTORE_ERROR_ENVELOPE });
  await app.register(proxyPlugin, {
    proxy,
    registry,
    configServerConnected: () => connected,
    onConfigChange: (update) => {
      if (!Object.keys(update).some((name) => name.endsWith('_cs_ip') || name.endsWith('_cs_port'))) return;
      const { master_cs_ip, master_cs_port, slave_cs_ip, slave_cs_port } = proxy.config;
      configServerClient.setServers(
        `${master_cs_ip}:${master_cs_port}`,
        slave_cs_ip && slave_cs_port ? `${slave_cs_ip}:${slave_cs_port}` : undefined,
      );
    },
  });
  const resp = await proxy.listen();
  await app.listen({ host: config.host, port: config.httpPort });
  logger.info({ resp, httpPort: config.httpPort, namespace: config.namespace }, 'proxy listening');
  installGracefulShutdown({
    logger,
    onShutdown: async () => {
      configServerClient.stop();
      monitor.stop();
      await app.close();
      await proxy.close();
    },
  });
}

runMain(main);
