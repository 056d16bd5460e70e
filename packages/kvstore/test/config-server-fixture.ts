import { createHttpServer } from '@kvforge/common-http';
import type { FastifyInstance } from 'fastify';
import type { BucketMigrator } from '../src/config-server/bucket-migrator';
import type { ConfigServer } from '../src/config-server/config-server';
import { ConfigServerService } from '../src/config-server/config-server-service';
import { configServerPlugin } from '../src/http/config-server-plugin';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';

export interface ConfigServerApp {
  app: FastifyInstance;
  service: ConfigServerService;
  server: ConfigServer;
  migrator: BucketMigrator;
  address: string;
  /** Closes the HTTP server, then the service (long-polls end, the store closes). */
  close(): Promise<void>;
}

/** A ConfigServerService (file store in `dataDir`) on loopback, on `port` or a free one. */
export async function startConfigServerApp(
  dataDir: string,
  options: { port?: number; isMaster?: boolean } = {},
): Promise<ConfigServerApp> {
  const service = await ConfigServerService.open({
    store: { kind: 'file', dataDir },
    ...(options.isMaster === undefined ? {} : { isMaster: options.isMaster }),
    migration: { batchSize: 200 },
    maxWatchMs: 5000,
  });
  const app = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
  await app.register(configServerPlugin, service.httpPluginOptions);
  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  service.resumeMigrations();
  return {
    app,
    service,
    server: service.configServer,
    migrator: service.migrator,
    address: `127.0.0.1:${address.port}`,
    async close() {
      await app.close();
      await service.stop();
    },
  };
}
