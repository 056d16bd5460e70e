import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDirectory, removeDirectory, waitFor } from '@kvforge/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigServerClient } from '../src/proxy/config-server-client';
import { type ConfigServerApp, startConfigServerApp } from './config-server-fixture';

const A = '127.0.0.1:7001';
const B = '127.0.0.1:7002';
const C = '127.0.0.1:7003';

describe('a proxy never installs a table older than the one it holds', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function configServer(dataDir: string): Promise<ConfigServerApp> {
    const app = await startConfigServerApp(dataDir);
    cleanups.push(() => app.close());
    return app;
  }

  function tempDirectory(): string {
    const directory = makeTempDirectory('kvstore-order-');
    cleanups.push(() => removeDirectory(directory));
    return directory;
  }

  it('ignores a stale ConfigServer and takes a re-created namespace by its epoch', async () => {
    const freshDir = tempDirectory();
    const staleDir = tempDirectory();
    const fresh = await configServer(freshDir);
    await fresh.server.initTable('ns', 256, [A, B], 'cache');
    // The stale ConfigServer holds version 1 of the same namespace (same epoch).
    copyFileSync(join(freshDir, 'kvstore-config.json'), join(staleDir, 'kvstore-config.json'));
    for (const address of [C, '127.0.0.1:7004', '127.0.0.1:7005']) {
      await fresh.server.scaleCacheCluster('ns', 'add', address);
    }
    await fresh.server.replaceServer('ns', '127.0.0.1:7005', '127.0.0.1:7006');
    const stale = await configServer(staleDir);
    expect(stale.server.getTable('ns').version).toBe(1);
    expect(stale.server.getTable('ns').epoch).toBe(fresh.server.getTable('ns').epoch);

    const installed: { epoch: number; version: number }[] = [];
    const client = new ConfigServerClient({
      namespace: 'ns',
      master: fresh.address,
      others: [stale.address],
      proxyInfo: '127.0.0.1:6380',
      watchMs: 300,
      retryMs: 20,
      onTable: (table) => {
        installed.push({ epoch: table.epoch, version: table.version });
      },
    });
    cleanups.push(() => client.stop());
    await client.fetchInitial();
    client.start();
    expect(installed).toEqual([{ epoch: fresh.server.getTable('ns').epoch, version: 5 }]);

    await fresh.close();
    // The client moves to the stale ConfigServer, which holds its polls instead of answering v1.
    await waitFor(() => client.server === stale.address && client.connected, {
      message: 'polling the stale ConfigServer',
    });
    await waitFor(() => stale.server.proxyInfo('ns').some((proxy) => proxy.info === '127.0.0.1:6380'), {
      message: 'the stale ConfigServer saw the poll',
    });
    const polled = stale.server.proxyInfo('ns').length;
    expect(polled).toBe(1);
    expect(client.knownVersion).toBe(5);
    expect(installed).toHaveLength(1);

    // On the stale ConfigServer the namespace is deleted and created again: a new epoch, version 1.
    const firstEpoch = installed[0]!.epoch;
    await stale.server.deleteNamespace('ns');
    await stale.server.initTable('ns', 256, [A], 'cache');
    await waitFor(() => installed.length === 2, { message: 'the re-created namespace is installed' });
    expect(installed[1]!.version).toBe(1);
    expect(installed[1]!.epoch).toBeGreaterThan(firstEpoch);
  }, 60_000);

  it('a slave that names its master sends the next poll there', async () => {
    const masterApp = await configServer(tempDirectory());
    const slaveApp = await configServer(tempDirectory());
    await masterApp.server.initTable('ns', 256, [A]);
    await slaveApp.server.initTable('ns', 256, [A]);
    slaveApp.server.setRole(false, masterApp.address);
    const client = new ConfigServerClient({
      namespace: 'ns',
      master: slaveApp.address,
      proxyInfo: '127.0.0.1:6381',
      watchMs: 300,
      retryMs: 20,
      onTable: () => undefined,
    });
    cleanups.push(() => client.stop());
    await client.fetchInitial();
    expect(client.server).toBe(masterApp.address);
    expect(client.knownServers).toEqual([slaveApp.address, masterApp.address]);
  }, 30_000);
});
