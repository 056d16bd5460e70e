import { createHttpServer, installGracefulShutdown } from '@kvforge/common-http';
import { createMetricsRegistry } from '@kvforge/metrics';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { parseAddress } from './config/address';
import type { GunyuConfig } from './config/config-schema';
import { parseDuration } from './config/duration';
import { GUNYU_ERROR_ENVELOPE } from './http/gunyu-error-envelope';
import { gunyuPlugin } from './http/gunyu-plugin';
import { registerGunyuMetrics } from './metrics/gunyu-metrics';
import { SyncService, type SyncServiceOptions } from './sync-service';

export interface GunyuServiceOptions {
  /** The process's pino logger: fastify's, and a `component: syncer` child for the syncers. */
  logger: FastifyBaseLogger;
  /** The service's metrics registry. @default a new one with the default process metrics */
  registry?: Registry;
  /** Exit the process once shut down (signal or `DELETE /`); tests pass false. @default true */
  exitProcess?: boolean;
  syncService?: SyncServiceOptions;
}

export interface GunyuService {
  readonly app: FastifyInstance;
  readonly service: SyncService;
  readonly registry: Registry;
  /** Listens on server.listen, then starts every syncer; resolves with the bound `host:port`. */
  listen(): Promise<string>;
  /** Stops the syncers, then the HTTP server (what SIGTERM and `DELETE /` do). */
  shutdown(reason: string): Promise<void>;
}

/**
 * Everything a gunyu-sync process runs, wired from its config: the syncers, one metrics registry,
 * the fastify server with the ops API and GunYu's error envelope, graceful shutdown. Nothing
 * listens or syncs until listen().
 */
export async function createGunyuService(
  config: GunyuConfig,
  options: GunyuServiceOptions,
): Promise<GunyuService> {
  const { logger } = options;
  const service = new SyncService(config, logger.child({ component: 'syncer' }), options.syncService);
  const registry = options.registry ?? createMetricsRegistry({ collectDefaultMetrics: true });
  registerGunyuMetrics(registry, service);
  const app = createHttpServer({
    logger,
    errorEnvelope: GUNYU_ERROR_ENVELOPE,
    apiDocs: {
      title: 'gunyu-sync ops API',
      description:
        'Status, config, pause/resume/restart/handover/stop of the syncers of one gunyu-sync process, spool GC, health, and its Prometheus metrics.',
    },
  });
  const graceful = installGracefulShutdown({
    logger,
    timeoutMs: parseDuration(config.server.gracefullStopTimeout),
    exitProcess: options.exitProcess ?? true,
    onShutdown: async () => {
      await service.stop();
      await app.close();
    },
  });
  await app.register(gunyuPlugin, {
    service,
    registry,
    metricRoutePath: config.server.metricRoutePath,
    onShutdownRequested: () => void graceful.shutdown('DELETE /'),
  });
  app.addHook('onClose', async () => graceful.dispose());
  return {
    app,
    service,
    registry,
    async listen() {
      const { host, port } = parseAddress(config.server.listen, { allowZeroPort: true });
      await app.listen({ host, port });
      const address = app.server.address();
      const bound = typeof address === 'object' && address ? `${host}:${address.port}` : config.server.listen;
      logger.info(
        { listen: bound, inputs: config.input.redis.addresses, outputs: config.output.redis.addresses },
        'gunyu-sync listening',
      );
      service.start();
      return bound;
    },
    shutdown: (reason) => graceful.shutdown(reason),
  };
}
