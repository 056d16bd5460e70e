import { createLogger, installGracefulShutdown, loadAppConfig, runMain } from '@kvforge/common-http';
import { startMetaServiceServer } from '@kvforge/memcache-hybrid';
import { META_SERVICE_CONFIG, serverOptions } from './config';

runMain(async () => {
  const loaded = loadAppConfig(META_SERVICE_CONFIG, process.argv.slice(2), process.env);
  if (loaded.help !== undefined) {
    process.stdout.write(loaded.help);
    return;
  }
  const { config } = loaded;
  const logger = createLogger({ name: 'memcache-meta-service', level: config['ock.mmc.log_level'] });
  const server = await startMetaServiceServer({ ...serverOptions(config), logger });
  logger.info(
    { rpc: config['ock.mmc.meta_service_url'], http: server.advertisedOrigin },
    'meta service ready',
  );
  installGracefulShutdown({ logger, onShutdown: () => server.close() });
});
