import { makeTempDirectory, type RedisProcess, removeDirectory, startRedis } from '@kvforge/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { BucketMigrator } from '../src/config-server/bucket-migrator';
import type { ConfigServer } from '../src/config-server/config-server';
import type { KvStoreProxy } from '../src/proxy/kv-store-proxy';
import { KvStoreProxyService, type KvStoreProxyServiceOptions } from '../src/proxy/kv-store-proxy-service';
import { type ConfigServerApp, startConfigServerApp } from './config-server-fixture';

export interface KvstoreCluster {
  redis: RedisProcess[];
  configServer: ConfigServer;
  migrator: BucketMigrator;
  configApp: FastifyInstance;
  configAddress: string;
  dataDir: string;
  /** The proxy as the app runs it (ConfigServer long-poll, HA monitor). */
  service: KvStoreProxyService;
  proxy: KvStoreProxy;
  proxyPort: number;
  /** POSTs JSON to the ConfigServer. */
  cs(path: string, body: unknown): Promise<Record<string, unknown>>;
  client(options?: Record<string, unknown>): Redis;
  stop(): Promise<void>;
}

/** Real redis-servers, a ConfigServer with namespace `test` over them, and a KvStoreProxyService. */
export async function startKvstoreCluster(
  options: {
    backends?: number;
    bucketCount?: number;
    clusterType?: 'cache' | 'data_store';
    service?: Partial<KvStoreProxyServiceOptions>;
  } = {},
): Promise<KvstoreCluster> {
  const redis = await Promise.all(Array.from({ length: options.backends ?? 3 }, () => startRedis()));
  const dataDir = makeTempDirectory('kvstore-cs-');
  let configServerApp: ConfigServerApp | undefined;
  let service: KvStoreProxyService | undefined;
  try {
    configServerApp = await startConfigServerApp(dataDir);
    const configAddress = configServerApp.address;
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
    service = new KvStoreProxyService({
      namespace: 'test',
      port: 0,
      configServer: configAddress,
      watchMs: 2000,
      retryMs: 100,
      ...options.service,
    });
    const { port: proxyPort } = await service.start();
    const clients: Redis[] = [];
    const started = configServerApp;
    const startedService = service;
    return {
      redis,
      configServer: started.server,
      migrator: started.migrator,
      configApp: started.app,
      configAddress,
      dataDir,
      service: startedService,
      proxy: startedService.proxy,
      proxyPort,
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
        await startedService.stop();
        await started.close();
        await Promise.all(redis.map((server) => server.stop()));
        removeDirectory(dataDir);
      },
    };
  } catch (error) {
    // A fixture that fails half-way still stops what it started.
    await service?.stop();
    await configServerApp?.close();
    await Promise.all(redis.map((server) => server.stop()));
    removeDirectory(dataDir);
    throw error;
  }
}
