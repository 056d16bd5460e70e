import { createLogger, installGracefulShutdown, loadAppConfig, runMain } from '@kvforge/common-http';
import { startLocalService, UNUSED_LOCAL_KEYS, unusedKeyWarnings } from '@kvforge/memcache-hybrid';
import { LOCAL_SERVICE_CONFIG, localServiceOptions } from './config';

runMain(async () => {
  const loaded = loadAppConfig(LOCAL_SERVICE_CONFIG, process.argv.slice(2), process.env);
  if (loaded.help !== undefined) {
    process.stdout.write(loaded.help);
    return;
  }
  const { config } = loaded;
  const logger = createLogger({ name: 'memcache-local-service', level: config['ock.mmc.log_level'] });
  // Shown even at log_level error: a migrating user must see what their file asks for and does not get.
  const configLogger = logger.child({ component: 'config' }, { level: 'warn' });
  for (const warning of unusedKeyWarnings(config, UNUSED_LOCAL_KEYS)) configLogger.warn(warning);
  const service = await startLocalService({ ...localServiceOptions(config), logger });
  logger.info({ rank: service.rank, data: service.data }, 'local service ready');
  const shutdown = installGracefulShutdown({ logger, onShutdown: () => service.close() });
  // Without the meta service nothing indexes these segments: exit 1 so a supervisor restarts and re-mounts.
  void service.metaLost.then(async () => {
    shutdown.dispose();
    await service.close();
    process.exit(1);
  });
});
