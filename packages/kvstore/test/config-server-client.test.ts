import { createHttpServer } from '@kvforge/common-http';
import { getFreePort, makeTempDirectory, removeDirectory, waitFor } from '@kvforge/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigServer } from '../src/config-server/config-server';
import { FileStateStore } from '../src/config-server/state-store';
import type { BucketTable } from '../src/core/bucket-table';
import { configServerPlugin } from '../src/http/config-server-plugin';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';
import { ConfigServerClient } from '../src/proxy/config-server-client';

const A = '127.0.0.1:7001';
const B = '127.0.0.1:7002';
const C = '127.0.0.1:7003';

async function startServer(
  dataDir: string,
  port: number,
): Promise<{ app: FastifyInstance; server: ConfigServer }> {
  const server = await ConfigServer.open({ store: new FileStateStore(dataDir) });
  const app = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
  await app.register(configServerPlugin, { configServer: server, maxWatchMs: 5000 });
  await app.listen({ host: '127.0.0.1', port });
  return { app, server };
}

describe('ConfigServerClient against a real ConfigServer over HTTP', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('receives pushed tables, ignores known versions, and survives a ConfigServer restart', async () => {
    const dataDir = makeTempDirectory('kvstore-cs-');
    cleanups.push(() => removeDirectory(dataDir));
    const port = await getFreePort();
    let running = await startServer(dataDir, port);
    cleanups.push(() => running.app.close());
    await running.server.initTable('ns', 256, [A, B], 'cache');

    const received: BucketTable[] = [];
    const errors: unknown[] = [];
    const client = new ConfigServerClient({
      namespace: 'ns',
      master: `127.0.0.1:${port}`,
      proxyInfo: '127.0.0.1:6380',
      watchMs: 1000,
      retryMs: 50,
      onTable: (table) => {
        received.push(table);
      },
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => client.stop());
    const initial = await client.fetchInitial();
    expect(initial.version).toBe(1);
    expect(initial.clusterType).toBe('cache');
    expect(initial.owners[1]).toBe(B);
    client.start();

    await running.server.scaleCacheCluster('ns', 'add', C);
    await waitFor(() => received.some((table) => table.version === 2), { message: 'version 2 pushed' });
    const pushed = received.find((table) => table.version === 2)!;
    expect(pushed.owners.filter((owner) => owner === C)).toHaveLength(85);
    // Each version is delivered once.
    expect(received.filter((table) => table.version === 2)).toHaveLength(1);
    expect(running.server.proxyInfo('ns')).toEqual([{ info: '127.0.0.1:6380', state: 'ONLINE' }]);

    // Restart the ConfigServer on the same port: the state is back and the client carries on.
    await running.app.close();
    running = await startServer(dataDir, port);
    expect(running.server.getTable('ns').version).toBe(2);
    await running.server.replaceServer('ns', A, '127.0.0.1:7004');
    await waitFor(() => received.some((table) => table.version === 3), {
      message: 'version 3 after restart',
    });
    expect(received.find((table) => table.version === 3)!.owners).not.toContain(A);
  });

  it('fails the initial fetch for an unknown namespace', async () => {
    const dataDir = makeTempDirectory('kvstore-cs-');
    cleanups.push(() => removeDirectory(dataDir));
    const port = await getFreePort();
    const running = await startServer(dataDir, port);
    cleanups.push(() => running.app.close());
    const client = new ConfigServerClient({
      namespace: 'missing',
      master: `127.0.0.1:${port}`,
      proxyInfo: 'x:1',
      onTable: () => undefined,
    });
    await expect(client.fetchInitial()).rejects.toThrow(/1004/);
  });
});
