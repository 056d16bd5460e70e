import { createLogger, loadAppConfig, runMain } from '@kvforge/common-http';
import { createGunyuService, GUNYU_APP_CONFIG } from '@kvforge/gunyu-sync';
import { createMetricsRegistry } from '@kvforge/metrics';

async function main(): Promise<void> {
  const loaded = loadAppConfig(GUNYU_APP_CONFIG, process.argv.slice(2), process.env);
  if (loaded.help !== undefined) {
    process.stdout.write(loaded.help);
    return;
  }
  const { config } = loaded;
  const level = config.log.level === 'panic' ? 'fatal' : config.log.level;
  const logger = createLogger({ name: 'gunyu-sync', level });
  const registry = createMetricsRegistry({ collectDefaultMetrics: true });
  const gunyu = await createGunyuService(config, { logger, registry });
  await gunyu.listen();
}

runMain(main);
