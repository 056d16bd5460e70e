import { createLogger, installGracefulShutdown, loadAppConfig, runMain } from '@kvforge/common-http';
import { DcacheService } from '@kvforge/dcache';
import { createMetricsRegistry } from '@kvforge/metrics';
import { DCACHE_CONFIG_SPEC } from './config';

async function main(): Promise<void> {
  const loaded = loadAppConfig(DCACHE_CONFIG_SPEC, process.argv.slice(2), process.env);
  if (loaded.help !== undefined) {
    process.stdout.write(loaded.help);
    return;
  }
  const config = loaded.config;
  const logger = createLogger({ name: 'dcache', level: config.logLevel });
  const registry = createMetricsRegistry({ service: 'dcache' });
  const service = await DcacheService.start(config, { logger, registry });
  installGracefulShutdown({
    logger,
    timeoutMs: config.leaveTimeoutMs + 5000,
    onShutdown: () => service.shutdown(),
  });
}

runMain(main);
