import { makeTempDirectory, type RedisProcess, removeDirectory, startRedis } from '@kvforge/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { BucketMigrator } from '../src/config-server/bucket-migrator';
import type { ConfigServer } from '../src/config-server/config-server';
import { ConfigServerClient } from '../src/proxy/config-server-client';
import { KvStoreProxy, type KvStoreProxyOptions } from '../src/proxy/kv-store-proxy';
import { startConfigServerApp } from './config-server-fixture';

export interface KvstoreCluster {
  redis: RedisProcess[];
  configServer: ConfigServer;
  migrator: BucketMigrator;
  configApp: FastifyInstance;
  configAddress: string;
  dataDir: string;
  proxy: KvStoreProxy;
  proxyPort: number;
  watcher: ConfigServerClient;
  /** POSTs JSON to the ConfigServer. */
  cs(path: string, body: unknown): Promise<Record<string, unknown>>;
  client(options?: Record<string, unknown>): Redis;
  stop(): Promise<void>;
}

export async function startKvstoreCluster(
  options: {
    backends?: number;
    bucketCount?: number;
    clusterType?: 'cache' | 'data_store';
    proxy?: Partial<KvStoreProxyOptions>;
  } = {},
): Promise<KvstoreCluster> {
  const redis = await Promise.all(Array.from({ length: options.backends ?? 3 }, () => startRedis()));
  const dataDir = makeTempDirectory('kvstore-cs-');
  const {
    app: configApp,
    server: configServer,
    address: configAddress,
    migrator,
  } = await startConfigServerApp(dataDir);
  const cs = async (path: string, body: unknown) => {
    const response = await fetch(`http://${configAddress}/kvstore/cs/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as Record<string, unknown>;
  };
  const init = await cs('init_table', {
    namespace: 'test',
    bucket_count: options.bucketCount ?? 256,
    address_list: redis.map((server) => server.address),
    cluster_type: options.clusterType ?? 'data_store',
  });
  if (init.code !== 1001) throw new Error(`init_table: ${JSON.stringify(init)}`);
  const proxy = new KvStoreProxy({ namespace: 'test', port: 0, ...options.proxy });
  const { port: proxyPort } = await proxy.listen();
  const watcher = new ConfigServerClient({
    namespace: 'test',
    master: configAddress,
    proxyInfo: `127.0.0.1:${proxyPort}`,
    watchMs: 2000,
    retryMs: 100,
    onTable: (table) => proxy.setTable(table),
  });
  await watcher.fetchInitial();
  watcher.start();
  const clients: Redis[] = [];
  return {
    redis,
    configServer,
    migrator,
    configApp,
    configAddress,
    dataDir,
    proxy,
    proxyPort,
    watcher,
    cs,
    client(clientOptions = {}) {
      const client = new Redis({
        host: '127.0.0.1',
        port: proxyPort,
        maxRetriesPerRequest: 1,
        ...clientOptions,
      });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.disconnect();
      watcher.stop();
      await proxy.close();
      await configApp.close();
      await Promise.all(redis.map((server) => server.stop()));
      removeDirectory(dataDir);
    },
  };
}
