import { makeTempDirectory, type RedisProcess, removeDirectory, startRedis, waitFor } from '@kvforge/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { murmurHash2 } from '../src/core/murmur-hash2';
import { KvStoreProxyService } from '../src/proxy/kv-store-proxy-service';
import { type ConfigServerApp, startConfigServerApp } from './config-server-fixture';

describe('failover through KvStoreProxyService with a real master and replica', () => {
  let master: RedisProcess;
  let replica: RedisProcess;
  let other: RedisProcess;
  let configServer: ConfigServerApp;
  let dataDir: string;
  beforeAll(async () => {
    master = await startRedis();
    other = await startRedis();
    replica = await startRedis({ replicaOf: { host: '127.0.0.1', port: master.port } });
    dataDir = makeTempDirectory('kvstore-ha-');
    configServer = await startConfigServerApp(dataDir);
  }, 60_000);
  afterAll(async () => {
    await configServer?.close();
    await Promise.all([master, replica, other].map((redis) => redis?.stop()));
    if (dataDir) removeDirectory(dataDir);
  });

  it('reports the dead master, installs the table with the replica, promotes it and routes to it', async () => {
    const server = configServer.server;
    await server.initTable('ha', 256, [master.address, other.address]);
    await server.setSupportHa(true);
    const service = new KvStoreProxyService({
      namespace: 'ha',
      port: 0,
      configServer: configServer.address,
      watchMs: 500,
      retryMs: 50,
      monitorIntervalSeconds: 0.2,
      probeTimeoutMs: 300,
      config: { redis_down_timeout: 0.4 },
    });
    const masterClient = master.client();
    let client: Redis | undefined;
    try {
      await service.start();
      await waitFor(async () => (await masterClient.info('replication')).includes('state=online'), {
        message: 'replica online',
      });
      // The monitor must have seen the replica in the master's INFO before the master dies.
      await waitFor(() => service.monitor.replicaOf(master.address) === replica.address, {
        message: 'monitor saw the replica',
      });
      await master.kill('SIGKILL');
      await waitFor(() => server.getTable('ha').owners.includes(replica.address), {
        timeoutMs: 20_000,
        message: 'replica replaced the master in the table',
      });
      expect(server.getTable('ha').owners).not.toContain(master.address);
      expect(server.getTable('ha').version).toBe(2);
      await waitFor(() => service.promoted.includes(replica.address), { message: 'replica promoted' });
      expect(service.proxy.tableVersion).toBe(2);
      const replicaClient = replica.client();
      expect(await replicaClient.info('replication')).toContain('role:master');
      // A key of a bucket the dead master owned is now written to the promoted replica.
      const owners = service.proxy.currentTable!.owners;
      const bucketOf = (text: string) => murmurHash2(Buffer.from(text)) % owners.length;
      const key = Array.from({ length: 1000 }, (_, index) => `failover-${index}`).find(
        (candidate) => owners[bucketOf(candidate)] === replica.address,
      )!;
      client = new Redis({ port: service.address.port, maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      expect(await client.set(key, 'after-failover')).toBe('OK');
      expect(await replicaClient.get(`${bucketOf(key)}_${key}`)).toBe('after-failover');
    } finally {
      client?.disconnect();
      await service.stop();
    }
  }, 60_000);
});
