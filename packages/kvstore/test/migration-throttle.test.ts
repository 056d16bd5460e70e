import { createHttpServer } from '@kvforge/common-http';
import { type RedisProcess, startRedis, waitFor } from '@kvforge/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BucketMigrator } from '../src/config-server/bucket-migrator';
import { ConfigServer } from '../src/config-server/config-server';
import { MemoryStateStore } from '../src/config-server/state-store';
import { configServerPlugin } from '../src/http/config-server-plugin';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';

const RATE = 1000;
const PER_BUCKET = 500;
const BUCKETS = [3, 4, 5];

describe('migration throttle (max_migrate_keys_per_second) and progress', () => {
  let source: RedisProcess;
  let destination: RedisProcess;
  let app: FastifyInstance;
  let server: ConfigServer;

  beforeAll(async () => {
    [source, destination] = await Promise.all([startRedis(), startRedis()]);
    server = await ConfigServer.open({ store: new MemoryStateStore() });
    const migrator = new BucketMigrator(server, { batchSize: 10_000 });
    app = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
    await app.register(configServerPlugin, { configServer: server, migrator });
    await app.ready();
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([source?.stop(), destination?.stop()]);
  });

  const post = async (path: string, body: unknown) =>
    (await app.inject({ method: 'POST', url: `/kvstore/cs/${path}`, payload: body as object })).json();

  it('never moves faster than the limit, and reports keys, keys/s and buckets in status and /metrics', async () => {
    await server.initTable('thr', 256, [source.address]);
    const pipeline = source.client().pipeline();
    for (const bucket of BUCKETS) {
      for (let index = 0; index < PER_BUCKET; index++) pipeline.set(`${bucket}_k${index}`, `v${index}`);
    }
    await pipeline.exec();

    const refused = await post('migrate_bucket', {
      namespace: 'thr',
      bucket_ids: BUCKETS,
      addr: destination.address,
      max_migrate_keys_per_second: -1,
    });
    expect(refused.code).toBe(1003);

    const started = await post('migrate_bucket', {
      namespace: 'thr',
      bucket_ids: BUCKETS,
      addr: destination.address,
      max_migrate_keys_per_second: RATE,
    });
    expect(started).toMatchObject({
      code: 1001,
      buckets_total: 3,
      buckets_done: 0,
      max_migrate_keys_per_second: RATE,
    });

    // Progress while it runs: the limit makes the job last at least 1.4 s, whatever the load.
    const midway = await waitFor(
      async () => {
        const status = await post('migration_status', { namespace: 'thr' });
        return status.state === 'running' && status.buckets_done >= 1 ? status : undefined;
      },
      { timeoutMs: 90_000, message: 'a bucket done while the job still runs' },
    );
    expect(midway.moved_keys).toBeGreaterThanOrEqual(PER_BUCKET);
    expect(midway.moved_keys).toBeLessThan(PER_BUCKET * BUCKETS.length);

    const done = await waitFor(
      async () => {
        const status = await post('migration_status', { namespace: 'thr' });
        return status.state !== 'running' ? status : undefined;
      },
      { timeoutMs: 90_000, message: 'the throttled job ends' },
    );
    expect(done).toMatchObject({
      state: 'success',
      error: '',
      buckets_done: 3,
      buckets_total: 3,
      moved_keys: 1500,
    });
    // Batches of RATE/10 keys, each in its own 100 ms slot: the last starts ≥ 1.4 s after the first.
    // A lower bound only: a loaded machine makes it slower, never faster.
    expect(done.elapsed_ms).toBeGreaterThanOrEqual(1400);
    expect(done.keys_per_second).toBeLessThanOrEqual(Math.ceil((1500 * 1000) / 1400));
    expect(done.keys_per_second).toBeGreaterThan(0);
    expect(await destination.client().dbsize()).toBe(1500);
    expect(await source.client().dbsize()).toBe(0);

    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('kvstore_cs_migration_moved_keys{namespace="thr"} 1500');
    expect(metrics).toContain('kvstore_cs_migration_buckets_done{namespace="thr"} 3');
    expect(metrics).toContain('kvstore_cs_migration_buckets_total{namespace="thr"} 3');
    expect(metrics).toContain(`kvstore_cs_migration_max_keys_per_second{namespace="thr"} ${RATE}`);
    expect(metrics).toContain('kvstore_cs_migration_running{namespace="thr"} 0');
    expect(metrics).toMatch(/kvstore_cs_migration_keys_per_second\{namespace="thr"\} [1-9]\d*/);
  }, 200_000);
});
