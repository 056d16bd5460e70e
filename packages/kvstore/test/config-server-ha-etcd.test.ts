import { type EtcdProcess, type RedisProcess, startEtcd, startRedis, waitFor } from '@kvforge/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvStoreProxyService } from '../src/proxy/kv-store-proxy-service';
import {
  type ConfigServerProcess,
  startConfigServerProcess,
  withConfigServerLogs,
} from './config-server-process-fixture';

const KEYS = 2000;
// etcd3 declares a lease lost after 2 × TTL without a keepalive answer; with a 2 s TTL a 4 s stall on a
// loaded CI box demoted the master mid-setup. 5 s (the product default) needs a 10 s stall.
const LEASE_SECONDS = 5;
// Conditions on a loaded 2-core box: generous, never a fixed sleep.
const WAIT = { timeoutMs: 90_000 };

describe('two ConfigServers on etcd: master election, watch, CAS writes, kill -9 of the master', () => {
  let etcd: EtcdProcess;
  const redis: RedisProcess[] = [];
  const configServers: ConfigServerProcess[] = [];
  let service: KvStoreProxyService | undefined;
  let client: Redis | undefined;

  // Everything starts in parallel: two tsx processes started one after the other, plus etcd and three
  // Redis, once overran the 120 s hook under a full CI run. The hook's budget covers the inner ones.
  beforeAll(async () => {
    const [started, ...servers] = await Promise.all([startEtcd(), startRedis(), startRedis(), startRedis()]);
    etcd = started;
    redis.push(...servers);
    const settings = { etcdEndpoints: etcd.endpoints, electionTtlSeconds: LEASE_SECONDS };
    const pair = await Promise.all([startConfigServerProcess(settings), startConfigServerProcess(settings)]);
    // Whichever won the election is `first` (the master); the other must name it.
    const roles = await withConfigServerLogs(pair, () =>
      waitFor(
        async () => {
          const configs = await Promise.all(pair.map((server) => server.cs('get_config')));
          const master = configs.findIndex((config) => config.is_master === true);
          if (master < 0) return undefined;
          const slave = 1 - master;
          return configs[slave]!.is_master === false && configs[slave]!.master === pair[master]!.address
            ? [pair[master]!, pair[slave]!]
            : undefined;
        },
        { ...WAIT, message: 'one ConfigServer is elected and the other follows it' },
      ),
    );
    configServers.push(...roles);
  }, 300_000);

  afterAll(async () => {
    client?.disconnect();
    await service?.stop();
    for (const server of configServers) await server.stop();
    await Promise.all(redis.map((server) => server.stop()));
    await etcd?.stop();
  });

  it(
    'the slave takes over with the latest table, proxies never go back, the old master rejoins as slave',
    () =>
      // A failure prints what each ConfigServer logged.
      withConfigServerLogs(configServers, async () => {
        const [first, second] = configServers as [ConfigServerProcess, ConfigServerProcess];
        const refused = await second.cs('init_table', {
          namespace: 'ha',
          bucket_count: 256,
          address_list: [redis[0]!.address],
        });
        expect(refused.code).toBe(1004);
        expect(refused.msg).toContain(first.address);

        const init = await first.cs('init_table', {
          namespace: 'ha',
          bucket_count: 256,
          address_list: [redis[0]!.address, redis[1]!.address],
        });
        expect(init.code).toBe(1001);
        service = new KvStoreProxyService({
          namespace: 'ha',
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

        // Several table changes through the master: 5 buckets move (2 versions each).
        const moved = await first.cs('migrate_bucket', {
          namespace: 'ha',
          bucket_ids: [0, 1, 2, 3, 4],
          addr: redis[2]!.address,
        });
        expect(moved.code).toBe(1001);
        await waitFor(
          async () => (await first.cs('migration_status', { namespace: 'ha' })).state === 'success',
          {
            ...WAIT,
            message: 'migration done',
          },
        );
        await waitFor(async () => (await second.cs('bucket_table', { namespace: 'ha' })).version === 11, {
          ...WAIT,
          message: 'the slave serves the latest version (etcd watch)',
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
        await waitFor(async () => (await second.cs('get_config')).is_master === true, {
          ...WAIT,
          message: 'the slave becomes master after the lease runs out',
        });
        expect((await second.cs('bucket_table', { namespace: 'ha' })).version).toBe(11);
        await waitFor(
          () => proxy.configServerClient.server === second.address && proxy.configServerConnected,
          {
            ...WAIT,
            message: 'the proxy follows the new master',
          },
        );
        running = false;
        await traffic;
        expect(lowest).toBe(11);
        expect(proxy.proxy.tableVersion).toBe(11);

        // Every key is readable.
        const keys = Array.from({ length: KEYS }, (_, index) => `key-${index}`);
        const values = await client.mget(...keys);
        expect(values.filter((value, index) => value !== `value-${index}`)).toEqual([]);

        // Writes to the new master succeed, and the proxy takes them.
        const next = await second.cs('migrate_bucket', {
          namespace: 'ha',
          bucket_id: 5,
          addr: redis[2]!.address,
        });
        expect(next.code).toBe(1001);
        await waitFor(
          async () => (await second.cs('migration_status', { namespace: 'ha' })).state === 'success',
          {
            ...WAIT,
            message: 'migration on the new master done',
          },
        );
        await waitFor(() => proxy.proxy.tableVersion === 13, { ...WAIT, message: 'proxy at v13' });

        // The old master, restarted, is a slave that serves the latest table.
        await first.restart();
        await waitFor(async () => (await first.cs('get_config')).master === second.address, {
          ...WAIT,
          message: 'the restarted ConfigServer follows the new master',
        });
        expect((await first.cs('get_config')).is_master).toBe(false);
        expect((await first.cs('bucket_table', { namespace: 'ha' })).version).toBe(13);
        expect((await first.cs('del_namespace', { namespace: 'ha' })).code).toBe(1004);
        expect(await client.get('key-7')).toBe('value-7');
      }),
    400_000,
  );
});
