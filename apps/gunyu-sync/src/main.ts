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
  configLayerFromFlags,
  GUNYU_ERROR_ENVELOPE,
  gunyuConfigSchema,
  gunyuPlugin,
  parseDuration,
  registerGunyuMetrics,
  SyncService,
} from '@kvforge/gunyu-sync';
import { createMetricsRegistry } from '@kvforge/metrics';

const COMMAND_LINE: CommandLineSpec = {
  name: 'gunyu-sync',
  usage: 'gunyu-sync -conf FILE [--sync.<yaml.path>=value ...]',
  description:
    'gunyu-sync: real-time Redis → Redis replication (PSYNC, RDB, command stream), resumable from\n' +
    "checkpoints in the target, with an ops HTTP API on server.listen. Config keys are redis-GunYu's;\n" +
    'any key can be given as --sync.<path>=value (lists comma-separated), e.g.\n' +
    '--sync.input.redis.addresses=127.0.0.1:6379 --sync.output.redis.addresses=127.0.0.1:6380',
  flags: {
    conf: {
      type: 'string',
      short: 'conf',
      description: 'YAML config file (as redisGunYu -conf)',
      valueName: 'FILE',
    },
    config: { type: 'string', description: 'Same as --conf', valueName: 'FILE' },
  },
  dottedPrefixes: ['sync.'],
};

async function main(): Promise<void> {
  const commandLine = parseCommandLine(process.argv.slice(2), COMMAND_LINE);
  if (commandLine.helpRequested) {
    process.stdout.write(commandLine.help);
    return;
  }
  const file = commandLine.values.conf ?? commandLine.values.config;
  const config = loadConfig(gunyuConfigSchema, [
    typeof file === 'string' ? readConfigFile(file) : {},
    configLayerFromFlags(commandLine.dotted),
  ]);
  const level = config.log.level === 'panic' ? 'fatal' : config.log.level;
  const logger = createLogger({ name: 'gunyu-sync', level });
  const service = new SyncService(config, logger.child({ component: 'syncer' }));
  const registry = createMetricsRegistry({ collectDefaultMetrics: true });
  registerGunyuMetrics(registry, service);
  const app = createHttpServer({ logger, errorEnvelope: GUNYU_ERROR_ENVELOPE });
  const listen = config.server.listen;
  const separator = listen.lastIndexOf(':');
  const shutdown = installGracefulShutdown({
    logger,
    timeoutMs: parseDuration(config.server.gracefullStopTimeout),
    onShutdown: async () => {
      await service.stop();
      await app.close();
    },
  });
  await app.register(gunyuPlugin, {
    service,
    registry,
    metricRoutePath: config.server.metricRoutePath,
    onShutdownRequested: () => void shutdown.shutdown('DELETE /'),
  });
  await app.listen({
    host: listen.slice(0, separator) || '127.0.0.1',
    port: Number(listen.slice(separator + 1)),
  });
  logger.info(
    { listen, inputs: config.input.redis.addresses, outputs: config.output.redis.addresses },
    'gunyu-sync listening',
  );
  service.start();
}

runMain(main);
