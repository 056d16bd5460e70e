import {
  getFreePort,
  makeTempDirectory,
  type RedisProcess,
  removeDirectory,
  startRedis,
  waitFor,
} from '@kvforge/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStaleSnapshot } from '../src/config-server/file-replication';
import type { ConfigServerState } from '../src/config-server/state-store';
import { createBucketTable } from '../src/core/bucket-table';
import { KvStoreProxyService } from '../src/proxy/kv-store-proxy-service';
import {
  type ConfigServerProcess,
  startConfigServerProcess,
  withConfigServerLogs,
} from './config-server-process-fixture';

const KEYS = 2000;
// Conditions on a loaded 2-core box: generous, never a fixed sleep.
const WAIT = { timeoutMs: 90_000 };

describe('file-store pair: snapshot ordering', () => {
  const state = (version: number, epoch = 1): ConfigServerState => ({
    supportHa: false,
    tables: [{ ...createBucketTable('ns', 256, ['127.0.0.1:1'], 'data_store', epoch), version }],
  });

  it('refuses a snapshot with an older table, takes equal, newer and re-created ones', () => {
    expect(isStaleSnapshot(state(3), state(5))).toBe(true);
    expect(isStaleSnapshot(state(5), state(5))).toBe(false);
    expect(isStaleSnapshot(state(6), state(5))).toBe(false);
    expect(isStaleSnapshot(state(1, 2), state(5, 1))).toBe(false);
    expect(isStaleSnapshot({ supportHa: false, tables: [] }, state(5))).toBe(false);
  });
});

describe('file-store ConfigServer pair: replication, kill -9 of the master, promotion', () => {
  const redis: RedisProcess[] = [];
  const directories: string[] = [];
  const configServers: ConfigServerProcess[] = [];
  let service: KvStoreProxyService | undefined;
  let client: Redis | undefined;

  beforeAll(async () => {
    redis.push(...(await Promise.all([startRedis(), startRedis(), startRedis()])));
    const [firstPort, secondPort] = [await getFreePort(), await getFreePort()];
    for (let index = 0; index < 2; index++) directories.push(makeTempDirectory('kvstore-cs-pair-'));
    // The first starts as master (its peer does not answer yet); the second as its slave.
    configServers.push(
      await startConfigServerProcess({ dataDir: directories[0], peer: `127.0.0.1:${secondPort}` }, firstPort),
    );
    configServers.push(
      await startConfigServerProcess(
        { dataDir: directories[1], peer: `127.0.0.1:${firstPort}`, isMaster: false },
        secondPort,
      ),
    );
    // Two tsx starts in a row on a loaded box: the hook's budget covers both fixture budgets.
  }, 300_000);

  afterAll(async () => {
    client?.disconnect();
    await service?.stop();
    for (const server of configServers) await server.stop();
    await Promise.all(redis.map((server) => server.stop()));
    for (const directory of directories) removeDirectory(directory);
  });

  it(
    'the slave follows every change, is promoted with the latest table; the old master rejoins as slave',
    () =>
      // A failure prints what each ConfigServer logged.
      withConfigServerLogs(configServers, async () => {
        const [first, second] = configServers as [ConfigServerProcess, ConfigServerProcess];
        expect((await first.cs('get_config')).is_master).toBe(true);
        expect(await second.cs('get_config')).toMatchObject({ is_master: false, master: first.address });
        const refused = await second.cs('init_table', {
          namespace: 'pair',
          bucket_count: 256,
          address_list: [redis[0]!.address],
        });
        expect(refused.code).toBe(1004);
        expect(refused.msg).toContain(first.address);

        const init = await first.cs('init_table', {
          namespace: 'pair',
          bucket_count: 256,
          address_list: [redis[0]!.address, redis[1]!.address],
        });
        expect(init.code).toBe(1001);
        await waitFor(async () => (await second.cs('bucket_table', { namespace: 'pair' })).version === 1, {
          ...WAIT,
          message: 'the slave has the new namespace',
        });
        service = new KvStoreProxyService({
          namespace: 'pair',
          port: 0,
          configServer: first.address,
          configServers: [second.address],
          watchMs: 500,
          retryMs: 100,
        });
        await service.start();
        const proxy = service;
        client = new Redis({ port: proxy.address.port, maxRetriesPerRequest: 1 });
        client.on('error', () => undefined);
        for (let offset = 0; offset < KEYS; offset += 500) {
          const pairs = Array.from({ length: 500 }, (_, index) => [
            `key-${offset + index}`,
            `value-${offset + index}`,
          ]);
          expect(await client.mset(...pairs.flat())).toBe('OK');
        }

        // Several table changes on the master: 5 buckets move (2 versions each).
        const moved = await first.cs('migrate_bucket', {
          namespace: 'pair',
          bucket_ids: [0, 1, 2, 3, 4],
          addr: redis[2]!.address,
        });
        expect(moved.code).toBe(1001);
        await waitFor(
          async () => (await first.cs('migration_status', { namespace: 'pair' })).state === 'success',
          {
            ...WAIT,
            message: 'migration done',
          },
        );
        await waitFor(async () => (await second.cs('bucket_table', { namespace: 'pair' })).version === 11, {
          ...WAIT,
          message: 'the slave serves the latest version (replication stream)',
        });
        await waitFor(() => proxy.proxy.tableVersion === 11, { ...WAIT, message: 'proxy at v11' });

        // Proxy traffic while the master dies; the proxy's version is sampled all along.
        let lowest = proxy.proxy.tableVersion;
        let reads = 0;
        let running = true;
        const traffic = (async () => {
          while (running) {
            lowest = Math.min(lowest, proxy.proxy.tableVersion);
            const index = reads++ % KEYS;
            expect(await client!.get(`key-${index}`)).toBe(`value-${index}`);
          }
        })();
        await first.kill();
        expect((await second.cs('set_config', { is_master: true })).code).toBe(1001);
        expect(await second.cs('get_config')).toMatchObject({ is_master: true, master: second.address });
        expect((await second.cs('bucket_table', { namespace: 'pair' })).version).toBe(11);
        await waitFor(
          () => proxy.configServerClient.server === second.address && proxy.configServerConnected,
          {
            ...WAIT,
            message: 'the proxy follows the new master',
          },
        );
        running = false;
        await traffic;
        expect(reads).toBeGreaterThan(0);
        expect(lowest).toBe(11);
        expect(proxy.proxy.tableVersion).toBe(11);

        const keys = Array.from({ length: KEYS }, (_, index) => `key-${index}`);
        const values = await client.mget(...keys);
        expect(values.filter((value, index) => value !== `value-${index}`)).toEqual([]);

        // Writes to the new master succeed, and the proxy takes them.
        const next = await second.cs('migrate_bucket', {
          namespace: 'pair',
          bucket_id: 5,
          addr: redis[2]!.address,
        });
        expect(next.code).toBe(1001);
        await waitFor(
          async () => (await second.cs('migration_status', { namespace: 'pair' })).state === 'success',
          { ...WAIT, message: 'migration on the new master done' },
        );
        await waitFor(() => proxy.proxy.tableVersion === 13, { ...WAIT, message: 'proxy at v13' });
        expect(await client.set('after-failover', 'yes')).toBe('OK');

        // The old master, restarted with its old settings (master, its file at v11), finds its peer is
        // master and starts as its slave; it replicates v13 over its stale file and refuses writes.
        await first.restart();
        expect(await first.cs('get_config')).toMatchObject({ is_master: false, master: second.address });
        await waitFor(async () => (await first.cs('bucket_table', { namespace: 'pair' })).version === 13, {
          ...WAIT,
          message: 'the restarted ConfigServer replicates the new master',
        });
        const stale = await first.cs('del_namespace', { namespace: 'pair' });
        expect(stale.code).toBe(1004);
        expect(stale.msg).toContain(second.address);
        expect(proxy.proxy.tableVersion).toBe(13);
        expect(await client.get('key-7')).toBe('value-7');
        expect(await client.get('after-failover')).toBe('yes');
      }),
    400_000,
  );
});
