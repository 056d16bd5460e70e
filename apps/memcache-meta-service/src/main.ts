import { createLogger, installGracefulShutdown, loadAppConfig, runMain } from '@kvforge/common-http';
import { startMetaServiceServer, UNUSED_META_KEYS, unusedKeyWarnings } from '@kvforge/memcache-hybrid';
import { META_SERVICE_CONFIG, serverOptions } from './config';

runMain(async () => {
  const loaded = loadAppConfig(META_SERVICE_CONFIG, process.argv.slice(2), process.env);
  if (loaded.help !== undefined) {
    process.stdout.write(loaded.help);
    return;
  }
  const { config } = loaded;
  const logger = createLogger({ name: 'memcache-meta-service', level: config['ock.mmc.log_level'] });
  // Shown even at log_level error: a migrating user must see what their file asks for and does not get.
  const configLogger = logger.child({ component: 'config' }, { level: 'warn' });
  for (const warning of unusedKeyWarnings(config, UNUSED_META_KEYS)) configLogger.warn(warning);
  const server = await startMetaServiceServer({ ...serverOptions(config), logger });
  logger.info(
    { rpc: config['ock.mmc.meta_service_url'], http: server.advertisedOrigin },
    'meta service ready',
  );
  installGracefulShutdown({ logger, onShutdown: () => server.close() });
});
