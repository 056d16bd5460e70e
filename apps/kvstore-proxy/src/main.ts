import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import {
  createHttpServer,
  createLogger,
  installGracefulShutdown,
  loadAppConfig,
  runMain,
} from '@kvforge/common-http';
import {
  KVSTORE_ERROR_ENVELOPE,
  KvStoreProxyService,
  PROXY_API_DOCS,
  proxyPlugin,
  runProxyWorker,
} from '@kvforge/kvstore';
import { createMetricsRegistry } from '@kvforge/metrics';
import { parseHostPort } from '@kvforge/runtime';
import { PROXY_CONFIG_SPEC } from './config';

async function main(): Promise<void> {
  const loaded = loadAppConfig(PROXY_CONFIG_SPEC, process.argv.slice(2), process.env);
  if (loaded.help !== undefined) {
    process.stdout.write(loaded.help);
    return;
  }
  const config = loaded.config;
  const listen = config.listen ? parseHostPort(config.listen, { allowZeroPort: true }) : undefined;
  const logger = createLogger({ name: 'kvstore-proxy', level: config.logLevel });
  if (cluster.isWorker) {
    // A --threads worker: its primary hands it the state and the client sockets.
    await runProxyWorker({ logger: logger.child({ worker: cluster.worker?.id }) });
    process.exit(0);
  }
  const threads = config.threads === 0 ? availableParallelism() : config.threads;
  const registry = createMetricsRegistry({ service: 'kvstore-proxy', collectDefaultMetrics: true });
  const service = new KvStoreProxyService({
    namespace: config.namespace,
    host: listen?.host ?? config.host,
    port: listen?.port ?? config.port,
    password: config.password,
    configServer: config.configServer,
    ...(config.slaveConfigServer ? { slaveConfigServer: config.slaveConfigServer } : {}),
    configServers: config.configServers,
    ...(config.advertiseAddress ? { advertiseAddress: config.advertiseAddress } : {}),
    config: {
      redis_password: config.redisPassword,
      max_qps: config.maxQps,
      max_client_num: config.maxClientNum,
      request_timeout: config.requestTimeout,
      client_timeout: config.clientTimeout,
      slow_cmd_time: config.slowCmdTime,
    },
    logger,
    registry,
    threads,
  });
  const resp = await service.start();
  const app = createHttpServer({ logger, errorEnvelope: KVSTORE_ERROR_ENVELOPE, apiDocs: PROXY_API_DOCS });
  await app.register(proxyPlugin, service.httpPluginOptions);
  await app.listen({ host: listen?.host ?? config.host, port: config.httpPort });
  logger.info({ resp, httpPort: config.httpPort, namespace: config.namespace, threads }, 'proxy listening');
  installGracefulShutdown({
    logger,
    onShutdown: async () => {
      await app.close();
      await service.stop();
    },
  });
}

runMain(main);
