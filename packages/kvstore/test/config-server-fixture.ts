import { createHttpServer } from '@kvforge/common-http';
import type { FastifyInstance } from 'fastify';
import { ConfigServer } from '../src/config-server/config-server';
import { FileStateStore } from '../src/config-server/state-store';
import { configServerPlugin } from '../src/http/config-server-plugin';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';

/** A ConfigServer (file store in `dataDir`) listening on a free loopback port. */
export async function startConfigServerApp(
  dataDir: string,
): Promise<{ app: FastifyInstance; server: ConfigServer; address: string }> {
  const server = await ConfigServer.open({ store: new FileStateStore(dataDir) });
  const app = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
  await app.register(configServerPlugin, { configServer: server, maxWatchMs: 5000 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return { app, server, address: `127.0.0.1:${address.port}` };
}
