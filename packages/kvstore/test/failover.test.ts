import { makeTempDirectory, type RedisProcess, removeDirectory, startRedis, waitFor } from '@kvforge/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigServer } from '../src/config-server/config-server';
import { ConfigServerClient } from '../src/proxy/config-server-client';
import { RedisMonitor } from '../src/proxy/redis-monitor';
import { startConfigServerApp } from './config-server-fixture';

describe('failover with a real master and replica', () => {
  let master: RedisProcess;
  let replica: RedisProcess;
  let other: RedisProcess;
  let app: FastifyInstance;
  let server: ConfigServer;
  let dataDir: string;
  beforeAll(async () => {
    master = await startRedis();
    other = await startRedis();
    replica = await startRedis({ replicaOf: { host: '127.0.0.1', port: master.port } });
    dataDir = makeTempDirectory('kvstore-ha-');
    ({ app, server } = await startConfigServerApp(dataDir));
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([master, replica, other].map((redis) => redis?.stop()));
    if (dataDir) removeDirectory(dataDir);
  });

  it('reports the dead master, the ConfigServer swaps in the replica, and the proxy side promotes it', async () => {
    await server.initTable('ha', 256, [master.address, other.address]);
    await server.setSupportHa(true);
    const address = app.server.address() as { port: number };
    const tables: number[] = [];
    let previous = new Set<string>();
    const monitor = new RedisMonitor({
      intervalSeconds: 0.2,
      probeTimeoutMs: 300,
      downTimeoutSeconds: () => 0.4,
      password: () => '',
      onStateChange: (target, state, replicaAddress) => {
        void client.reportRedisState(target, state, replicaAddress);
      },
    });
    const promoted: string[] = [];
    const client = new ConfigServerClient({
      namespace: 'ha',
      master: `127.0.0.1:${address.port}`,
      proxyInfo: 'proxy-1:6380',
      watchMs: 500,
      retryMs: 50,
      onTable: (table) => {
        tables.push(table.version);
        const before = previous;
        previous = new Set(table.owners);
        void monitor.onTable(before, table.owners).then((done) => promoted.push(...done));
      },
    });
    try {
      await client.fetchInitial();
      client.start();
      await waitFor(async () => (await master.client().info('replication')).includes('state=online'), {
        message: 'replica online',
      });
      // The monitor must have seen the replica before the master dies.
      await waitFor(
        async () => {
          await monitor.probeAll();
          return monitor.replicaOf(master.address) === replica.address;
        },
        { message: 'monitor saw the replica' },
      );
      monitor.start();
      await master.kill('SIGKILL');
      await waitFor(() => server.getTable('ha').owners.includes(replica.address), {
        timeoutMs: 20_000,
        message: 'replica replaced the master in the table',
      });
      expect(server.getTable('ha').owners).not.toContain(master.address);
      expect(server.getTable('ha').version).toBe(2);
      await waitFor(() => promoted.includes(replica.address), { message: 'replica promoted' });
      expect(await replica.client().info('replication')).toContain('role:master');
    } finally {
      monitor.stop();
      client.stop();
    }
  }, 60_000);
});
