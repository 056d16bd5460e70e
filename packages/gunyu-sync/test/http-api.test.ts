import { createHttpServer, loadConfig } from '@kvforge/common-http';
import { createMetricsRegistry } from '@kvforge/metrics';
import { type RedisProcess, startRedis, waitFor } from '@kvforge/testing';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { gunyuConfigSchema } from '../src/config/config-schema';
import { GUNYU_ERROR_ENVELOPE } from '../src/http/gunyu-error-envelope';
import { gunyuPlugin } from '../src/http/gunyu-plugin';
import { registerGunyuMetrics } from '../src/metrics/gunyu-metrics';
import { SyncService } from '../src/sync-service';

let source: RedisProcess;
let target: RedisProcess;
let service: SyncService;
let app: FastifyInstance;
/** One client per server for the whole file (polls reuse it instead of opening one per attempt). */
let sourceClient: Redis;
let targetClient: Redis;
let shutdownRequests = 0;

beforeAll(async () => {
  [source, target] = await Promise.all([startRedis({ password: 'source-secret' }), startRedis()]);
  sourceClient = source.client();
  targetClient = target.client();
  await sourceClient.set('k1', 'v1');
  const config = loadConfig(gunyuConfigSchema, [
    {
      input: { redis: { addresses: [source.address], password: 'source-secret' } },
      output: { redis: { addresses: [target.address] } },
    },
  ]);
  service = new SyncService(config, undefined, { syncer: { reconnectBackoffMs: 100 } });
  const registry = createMetricsRegistry();
  registerGunyuMetrics(registry, service);
  app = createHttpServer({ errorEnvelope: GUNYU_ERROR_ENVELOPE });
  await app.register(gunyuPlugin, {
    service,
    registry,
    metricRoutePath: config.server.metricRoutePath,
    onShutdownRequested: () => {
      shutdownRequests++;
    },
  });
  service.start();
  await waitFor(async () => (await targetClient.get('k1')) === 'v1', {
    timeoutMs: 30_000,
    message: 'initial sync',
  });
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await app?.close();
  sourceClient?.disconnect();
  targetClient?.disconnect();
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('ops API', () => {
  it('GET /syncer/status lists inputs with GunYu fields plus offsets and lag', async () => {
    await sourceClient.set('k-status', 'x');
    await waitFor(async () => (await targetClient.get('k-status')) === 'x', {
      timeoutMs: 20_000,
      message: 'k-status',
    });
    const response = await app.inject({ method: 'GET', url: '/syncer/status' });
    expect(response.statusCode).toBe(200);
    const [status] = response.json();
    expect(status).toMatchObject({ Input: source.address, Role: 'leader', Transaction: true, State: 'run' });
    expect(status.SourceOffset).toBeGreaterThan(0);
    expect(typeof status.LagBytes).toBe('number');
  });

  it('GET /syncer/config answers YAML by default and JSON on request, passwords masked', async () => {
    const yaml = await app.inject({ method: 'GET', url: '/syncer/config' });
    expect(yaml.statusCode).toBe(200);
    expect(parse(yaml.body).input.redis.password).toBe('******');
    expect(yaml.body).not.toContain('source-secret');
    const json = await app.inject({ method: 'GET', url: '/syncer/config?format=json' });
    expect(json.json().output.replay.batchCmdCount).toBe(100);
  });

  it('answers 400 with an empty body for missing or unknown inputs', async () => {
    for (const url of [
      '/syncer/pause',
      '/syncer/pause?inputs=',
      '/syncer/resume?inputs=10.0.0.1:1',
      '/syncer/fullsync?inputs=nope',
      '/syncer/handover',
    ]) {
      const response = await app.inject({ method: 'POST', url });
      expect(response.statusCode, url).toBe(400);
      expect(response.body, url).toBe('');
    }
  });

  it('pauses and resumes an input', async () => {
    const paused = await app.inject({ method: 'POST', url: `/syncer/pause?inputs=${source.address}` });
    expect(paused.statusCode).toBe(200);
    expect(service.status()[0]?.State).toBe('pause');
    await sourceClient.set('k2', 'during-pause');
    expect(await targetClient.get('k2')).toBeNull();
    const resumed = await app.inject({ method: 'POST', url: '/syncer/resume?inputs=all' });
    expect(resumed.statusCode).toBe(200);
    await waitFor(async () => (await targetClient.get('k2')) === 'during-pause', {
      timeoutMs: 20_000,
      message: 'resume',
    });
  });

  it('full sync with flushdb=yes flushes the target first', async () => {
    await targetClient.set('only-on-target', 'x');
    const before = service.syncers[0]?.counters.fullSyncs ?? 0;
    const response = await app.inject({
      method: 'POST',
      url: `/syncer/fullsync?inputs=${source.address}&flushdb=yes`,
    });
    expect(response.statusCode).toBe(200);
    await waitFor(
      async () =>
        (service.syncers[0]?.counters.fullSyncs ?? 0) > before && service.status()[0]?.State === 'run',
      {
        timeoutMs: 20_000,
        message: 'second full sync',
      },
    );
    await waitFor(async () => (await targetClient.get('k2')) === 'during-pause', {
      timeoutMs: 20_000,
      message: 'data back',
    });
    expect(await targetClient.get('only-on-target')).toBeNull();
  });

  /** A refused POST /syncer/fullsync: 400, bare body, and the input still replicates incrementally. */
  async function expectRefusedFullSync(url: string, probeKey: string): Promise<void> {
    const before = service.syncers[0]?.counters.fullSyncs ?? 0;
    const response = await app.inject({ method: 'POST', url });
    expect(response.statusCode, url).toBe(400);
    expect(response.body, url).toBe('');
    expect(service.status()[0]?.State, url).not.toBe('pause');
    await sourceClient.set(probeKey, 'still-replicating');
    await waitFor(async () => (await targetClient.get(probeKey)) === 'still-replicating', {
      timeoutMs: 20_000,
      message: `write after the refused ${url} reaches the target`,
    });
    expect(service.status()[0]?.State, url).toBe('run');
    expect(service.syncers[0]?.counters.fullSyncs, url).toBe(before); // resumed from the checkpoint
  }

  it('a bad flushCommand answers 400 and the input keeps replicating', async () => {
    await expectRefusedFullSync(
      `/syncer/fullsync?inputs=${source.address}&flushdb=yes&flushCommand=BOGUS`,
      'k-after-bogus-flush-command',
    );
  });

  it('a full sync whose flush the target refuses answers 400 and leaves the input replicating', async () => {
    // The target's ACL denies FLUSHALL: the flush step fails on a server that was not touched.
    await targetClient.acl('SETUSER', 'default', '-flushall');
    try {
      await targetClient.set('kept-on-target', 'x');
      await expectRefusedFullSync(
        `/syncer/fullsync?inputs=${source.address}&flushdb=yes&flushCommand=flushall`,
        'k-after-refused-flush',
      );
      expect(await targetClient.get('kept-on-target')).toBe('x'); // nothing was flushed
    } finally {
      await targetClient.acl('SETUSER', 'default', '+flushall');
    }
  });

  it('exposes GunYu metric names on /prometheus', async () => {
    const response = await app.inject({ method: 'GET', url: '/prometheus' });
    expect(response.statusCode).toBe(200);
    for (const name of [
      'redisGunYu_input_offset',
      'redisGunYu_output_send_offset',
      'redisGunYu_output_ack_offset',
      'redisGunYu_output_sync_delay',
    ]) {
      expect(response.body).toContain(`${name}{input="${source.address}"}`);
    }
    expect(response.body).toMatch(/redisGunYu_input_sync_type\{input="[^"]+",sync_type="full"\} 2/);
    expect(response.body).toContain('redisGunYu_output_sender{input=');
  });

  it('serves health, storage gc (GET and POST), restart and DELETE /', async () => {
    expect((await app.inject({ method: 'GET', url: '/debug/health' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/storage/gc' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/storage/gc' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/syncer/restart' })).statusCode).toBe(200);
    await waitFor(async () => service.status()[0]?.State === 'run', {
      timeoutMs: 20_000,
      message: 'restart',
    });
    expect(service.syncers[0]?.counters.incrementalSyncs).toBeGreaterThan(0);
    expect((await app.inject({ method: 'DELETE', url: '/' })).statusCode).toBe(200);
    await waitFor(async () => shutdownRequests === 1, { timeoutMs: 5000, message: 'shutdown requested' });
    expect((await app.inject({ method: 'POST', url: '/syncer/stop' })).statusCode).toBe(200);
    expect(service.status()[0]?.State).toBe('stop');
  });
});
