import { type EtcdProcess, type RedisProcess, startEtcd, startRedis, waitFor } from '@kvforge/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvStoreProxyService } from '../src/proxy/kv-store-proxy-service';
import { type ConfigServerProcess, startConfigServerProcess } from './config-server-process-fixture';

const KEYS = 2000;
const LEASE_SECONDS = 2;

describe('two ConfigServers on etcd: master election, watch, CAS writes, kill -9 of the master', () => {
  let etcd: EtcdProcess;
  const redis: RedisProcess[] = [];
  const configServers: ConfigServerProcess[] = [];
  let service: KvStoreProxyService | undefined;
  let client: Redis | undefined;

  beforeAll(async () => {
    etcd = await startEtcd();
    for (let index = 0; index < 3; index++) redis.push(await startRedis());
    const settings = { etcdEndpoints: etcd.endpoints, electionTtlSeconds: LEASE_SECONDS };
    configServers.push(await startConfigServerProcess(settings));
    await waitFor(async () => (await configServers[0]!.cs('get_config')).is_master === true, {
      timeoutMs: 30_000,
      message: 'the first ConfigServer is elected',
    });
    configServers.push(await startConfigServerProcess(settings));
  }, 120_000);

  afterAll(async () => {
    client?.disconnect();
    await service?.stop();
    for (const server of configServers) await server.stop();
    await Promise.all(redis.map((server) => server.stop()));
    await etcd?.stop();
  });

  it('the slave takes over with the latest table, proxies never go back, the old master rejoins as slave', async () => {
    const [first, second] = configServers as [ConfigServerProcess, ConfigServerProcess];
    await waitFor(async () => (await second.cs('get_config')).master === first.address, {
      message: 'the second ConfigServer knows the master',
    });
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
    await waitFor(async () => (await first.cs('migration_status', { namespace: 'ha' })).state === 'success', {
      timeoutMs: 60_000,
      message: 'migration done',
    });
    await waitFor(async () => (await second.cs('bucket_table', { namespace: 'ha' })).version === 11, {
      message: 'the slave serves the latest version (etcd watch)',
    });
    await waitFor(() => proxy.proxy.tableVersion === 11, { message: 'proxy at v11' });

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
      timeoutMs: 30_000,
      message: 'the slave becomes master after the lease runs out',
    });
    expect((await second.cs('bucket_table', { namespace: 'ha' })).version).toBe(11);
    await waitFor(() => proxy.configServerClient.server === second.address && proxy.configServerConnected, {
      message: 'the proxy follows the new master',
    });
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
        timeoutMs: 60_000,
        message: 'migration on the new master done',
      },
    );
    await waitFor(() => proxy.proxy.tableVersion === 13, { message: 'proxy at v13' });

    // The old master, restarted, is a slave that serves the latest table.
    await first.restart();
    await waitFor(async () => (await first.cs('get_config')).master === second.address, {
      message: 'the restarted ConfigServer follows the new master',
    });
    expect((await first.cs('get_config')).is_master).toBe(false);
    expect((await first.cs('bucket_table', { namespace: 'ha' })).version).toBe(13);
    expect((await first.cs('del_namespace', { namespace: 'ha' })).code).toBe(1004);
    expect(await client.get('key-7')).toBe('value-7');
  }, 180_000);
});
