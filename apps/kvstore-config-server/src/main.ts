import {
  createHttpServer,
  createLogger,
  installGracefulShutdown,
  loadAppConfig,
  runMain,
} from '@kvforge/common-http';
import {
  CONFIG_SERVER_API_DOCS,
  ConfigServerService,
  configServerPlugin,
  KVSTORE_ERROR_ENVELOPE,
} from '@kvforge/kvstore';
import { CONFIG_SERVER_CONFIG_SPEC } from './config';

async function main(): Promise<void> {
  const loaded = loadAppConfig(CONFIG_SERVER_CONFIG_SPEC, process.argv.slice(2), process.env);
  if (loaded.help !== undefined) {
    process.stdout.write(loaded.help);
    return;
  }
  const config = loaded.config;
  const logger = createLogger({ name: 'kvstore-config-server', level: config.logLevel });
  const service = await ConfigServerService.open({
    store:
      config.store === 'etcd'
        ? { kind: 'etcd', endpoints: config.etcdEndpoints, electionTtlSeconds: config.electionTtlSeconds }
        : {
            kind: 'file',
            dataDir: config.dataDir,
            ...(config.peerConfigServer === undefined ? {} : { peer: config.peerConfigServer }),
          },
    isMaster: config.isMaster,
    supportHa: config.supportHa,
    defaultClusterType: config.clusterType,
    proxyTimeoutMs: config.proxyTimeoutMs,
    migration: {
      redisPassword: config.redisPassword,
      maxMigrateKeysPerSecond: config.maxMigrateKeysPerSecond,
      bigKeyBytes: config.migrateBigKeyBytes,
      bigKeyChunkElements: config.migrateBigKeyChunkElements,
    },
    maxWatchMs: config.maxWatchMs,
    logger,
  });
  const app = createHttpServer({
    logger,
    errorEnvelope: KVSTORE_ERROR_ENVELOPE,
    apiDocs: CONFIG_SERVER_API_DOCS,
  });
  await app.register(configServerPlugin, service.httpPluginOptions);
  await app.listen({ host: config.host, port: config.httpPort });
  // File store: a migration the previous run left in flight continues now. etcd: watch + election.
  const bound = app.server.address();
  const port = bound && typeof bound === 'object' ? bound.port : config.httpPort;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  await service.start(config.advertiseAddress ?? `${host}:${port}`);
  logger.info(
    { port: config.httpPort, store: config.store, namespaces: service.configServer.namespaceList() },
    'config server listening',
  );
  installGracefulShutdown({
    logger,
    onShutdown: async () => {
      await app.close();
      await service.stop();
    },
  });
}

runMain(main);
