import {
  createHttpServer,
  createLogger,
  installGracefulShutdown,
  loadConfig,
  parseCommandLine,
  runMain,
} from '@kvforge/common-http';
import {
  FileMetadataStore,
  MEDIUM,
  MEMCACHE_ERROR_ENVELOPE,
  MetaRpcServer,
  MetaService,
  memcacheRestPlugin,
  standaloneHaSnapshot,
} from '@kvforge/memcache-hybrid';
import { metaServiceConfigSchema, parseMounts, readKeyValueFile } from './config';

const COMMAND_LINE = {
  name: 'memcache-meta-service',
  usage: 'memcache-meta-service [--config FILE] [--ock.mmc.KEY=VALUE ...]',
  description:
    'memcache-hybrid meta service: object metadata, segment allocation and eviction over meta RPC, plus the REST API.\n' +
    'Config: the original key = value file (--config, or MMC_META_CONFIG_PATH) < flags --ock.mmc.KEY=VALUE.\n' +
    'Keys: ock.mmc.meta_service_url (tcp://127.0.0.1:5000), ock.mmc.meta_service.metrics_url (http://127.0.0.1:8000),\n' +
    'ock.mmc.evict_threshold_high (90), ock.mmc.evict_threshold_low (80), ock.mmc.log_level (info), ock.mmc.lease_ms (2000),\n' +
    'ock.mmc.allocated_timeout_ms (30000), ock.mmc.ptracer.enable (true), ock.mmc.rpc.max_frame_bytes (64 MiB),\n' +
    'ock.mmc.mount (e.g. 0:DRAM:1GB,1:HBM:512MB), ock.mmc.meta_service.metadata_path (empty = /metadata in memory).',
  flags: {
    config: { type: 'string', description: 'Config file of key = value lines', valueName: 'FILE' },
  },
  dottedPrefixes: ['ock.'],
} as const;

runMain(async () => {
  const commandLine = parseCommandLine(process.argv.slice(2), COMMAND_LINE);
  if (commandLine.helpRequested) {
    process.stdout.write(commandLine.help);
    return;
  }
  const configPath = (commandLine.values.config as string | undefined) ?? process.env.MMC_META_CONFIG_PATH;
  const config = loadConfig(metaServiceConfigSchema, [
    configPath ? readKeyValueFile(configPath) : {},
    commandLine.dotted,
  ]);
  const logger = createLogger({ name: 'memcache-meta-service', level: config['ock.mmc.log_level'] });

  const service = new MetaService({
    evictThresholdHigh: config['ock.mmc.evict_threshold_high'],
    evictThresholdLow: config['ock.mmc.evict_threshold_low'],
    leaseMilliseconds: config['ock.mmc.lease_ms'],
    allocatedTimeoutMilliseconds: config['ock.mmc.allocated_timeout_ms'],
    ptracerEnabled: config['ock.mmc.ptracer.enable'],
  });
  for (const mount of parseMounts(config['ock.mmc.mount'])) {
    service.mount(mount.rank, mount.medium === 'HBM' ? MEDIUM.HBM : MEDIUM.DRAM, mount.bytes);
  }
  const ticker = setInterval(() => service.manager.tick(), 100);
  ticker.unref();

  const rpcUrl = new URL(config['ock.mmc.meta_service_url']);
  const rpc = new MetaRpcServer({
    service,
    limits: { maxFrameBytes: config['ock.mmc.rpc.max_frame_bytes'] },
    onError: (error) => logger.warn({ err: error }, 'bad meta RPC request'),
  });
  await rpc.listen(Number(rpcUrl.port), rpcUrl.hostname);

  const metricsUrl = config['ock.mmc.meta_service.metrics_url'];
  const httpUrl = new URL(metricsUrl.includes('://') ? metricsUrl : `http://${metricsUrl}`);
  if (httpUrl.protocol !== 'http:')
    throw new Error(`ock.mmc.meta_service.metrics_url: only http:// is supported, got ${metricsUrl}`);
  const app = createHttpServer({ logger, errorEnvelope: MEMCACHE_ERROR_ENVELOPE });
  const advertised = httpUrl.origin;
  const metadataPath = config['ock.mmc.meta_service.metadata_path'];
  await app.register(memcacheRestPlugin, {
    service,
    ha: () => standaloneHaSnapshot(advertised),
    ...(metadataPath ? { metadata: new FileMetadataStore(metadataPath) } : {}),
  });
  await app.listen({ host: httpUrl.hostname, port: Number(httpUrl.port || 80) });
  logger.info({ rpc: config['ock.mmc.meta_service_url'], http: httpUrl.origin }, 'meta service ready');

  installGracefulShutdown({
    logger,
    onShutdown: async () => {
      clearInterval(ticker);
      await Promise.all([app.close(), rpc.close()]);
    },
  });
});
