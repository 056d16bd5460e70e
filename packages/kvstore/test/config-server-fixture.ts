import { createHttpServer } from '@kvforge/common-http';
import type { FastifyInstance } from 'fastify';
import { BucketMigrator } from '../src/config-server/bucket-migrator';
import { ConfigServer } from '../src/config-server/config-server';
import { FileStateStore } from '../src/config-server/state-store';
import { configServerPlugin } from '../src/http/config-server-plugin';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';

/** A ConfigServer (file store in `dataDir`) listening on a free loopback port. */
export async function startConfigServerApp(
  dataDir: string,
): Promise<{ app: FastifyInstance; server: ConfigServer; address: string; migrator: BucketMigrator }> {
  const server = await ConfigServer.open({ store: new FileStateStore(dataDir) });
  const migrator = new BucketMigrator(server, { batchSize: 200 });
  const app = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
  await app.register(configServerPlugin, { configServer: server, migrator, maxWatchMs: 5000 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { app, server, migrator, address: `127.0.0.1:${address.port}` };
}
