import { createHttpServer } from '@kvforge/common-http';
import { type RedisProcess, startRedis } from '@kvforge/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BucketMigrator } from '../src/config-server/bucket-migrator';
import { ConfigServer } from '../src/config-server/config-server';
import { MemoryStateStore } from '../src/config-server/state-store';
import { bucketsByServer } from '../src/core/bucket-table';
import { murmurHash2 } from '../src/core/murmur-hash2';
import { configServerPlugin } from '../src/http/config-server-plugin';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';

describe('online bucket migration (data_store) with real redis-servers', () => {
  let source: RedisProcess;
  let destination: RedisProcess;
  let app: FastifyInstance;
  let server: ConfigServer;
  let migrator: BucketMigrator;

  beforeAll(async () => {
    [source, destination] = await Promise.all([startRedis(), startRedis()]);
    server = await ConfigServer.open({ store: new MemoryStateStore() });
    migrator = new BucketMigrator(server, { batchSize: 100 });
    app = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
    await app.register(configServerPlugin, { configServer: server, migrator });
    await app.ready();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([source?.stop(), destination?.stop()]);
  });

  const post = async (path: string, body: unknown) =>
    (await app.inject({ method: 'POST', url: `/kvstore/cs/${path}`, payload: body as object })).json();

  it('scale_data_store add moves half of the buckets with their keys and bumps the version twice per bucket', async () => {
    await server.initTable('ds', 256, [source.address]);
    const raw = source.client();
    const keys = Array.from({ length: 3000 }, (_, index) => `key:${index}`);
    const pipeline = raw.pipeline();
    for (const key of keys) pipeline.set(`${murmurHash2(Buffer.from(key)) % 256}_${key}`, key);
    pipeline.hset(`${murmurHash2(Buffer.from('hash')) % 256}_hash`, 'f', 'v');
    await pipeline.exec();

    expect(
      (await post('scale_cache_cluster', { namespace: 'ds', action: 'add', addr: destination.address })).code,
    ).toBe(1005);
    const started = await post('scale_data_store', {
      namespace: 'ds',
      action: 'add',
      addr: destination.address,
    });
    expect(started).toMatchObject({ code: 1001, state: 'running', remaining_buckets: 128 });
    expect(
      (await post('migrate_bucket', { namespace: 'ds', bucket_id: 1, addr: destination.address })).code,
    ).toBe(1008);
    const done = await migrator.wait('ds');
    expect(done).toMatchObject({ state: 'success', remaining_buckets: 0, error: '' });
    expect((await post('migration_status', { namespace: 'ds' })).state).toBe('success');

    const table = server.getTable('ds');
    expect(table.version).toBe(1 + 2 * 128);
    expect(table.migratingBucketId).toBe(65535);
    expect(bucketsByServer(table).get(destination.address)).toHaveLength(128);
    const target = destination.client();
    let onDestination = 0;
    for (const key of keys) {
      const bucket = murmurHash2(Buffer.from(key)) % 256;
      const owner = table.owners[bucket] === destination.address ? target : raw;
      const other = owner === target ? raw : target;
      expect(await owner.get(`${bucket}_${key}`)).toBe(key);
      expect(await other.exists(`${bucket}_${key}`)).toBe(0);
      if (owner === target) onDestination++;
    }
    expect(onDestination).toBeGreaterThan(1000);
    expect((await raw.dbsize()) + (await target.dbsize())).toBe(keys.length + 1);
    raw.disconnect();
    target.disconnect();
  }, 120_000);

  it('refuses cache namespaces, bad buckets and bad addresses', async () => {
    await server.initTable('c', 256, ['127.0.0.1:1'], 'cache');
    expect((await post('migrate_bucket', { namespace: 'c', bucket_id: 1, addr: '127.0.0.1:2' })).code).toBe(
      1005,
    );
    expect(
      (await post('migrate_bucket', { namespace: 'ds', bucket_id: 999, addr: destination.address })).code,
    ).toBe(1008);
    expect(
      (await post('migrate_bucket', { namespace: 'ds', bucket_id: 'x', addr: destination.address })).code,
    ).toBe(1003);
    expect((await post('migrate_bucket', { namespace: 'ds', bucket_id: 1, addr: 'nope' })).code).toBe(1005);
    expect((await post('migration_status', { namespace: 'none' })).code).toBe(1004);
  });
});
