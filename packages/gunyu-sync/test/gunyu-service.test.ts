import { createLogger, loadConfig } from '@kvforge/common-http';
import { type RedisProcess, startRedis, waitFor } from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunyuConfigSchema } from '../src/config/config-schema';
import { createGunyuService, type GunyuService } from '../src/gunyu-service';

let source: RedisProcess;
let target: RedisProcess;
let sourceClient: Redis;
let targetClient: Redis;
let gunyu: GunyuService | undefined;

beforeAll(async () => {
  [source, target] = await Promise.all([startRedis(), startRedis()]);
  sourceClient = source.client();
  targetClient = target.client();
}, 60_000);

afterAll(async () => {
  await gunyu?.shutdown('test end');
  sourceClient?.disconnect();
  targetClient?.disconnect();
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('createGunyuService (what the app runs)', () => {
  it('listens, syncs, serves the ops API and metrics, and DELETE / shuts it all down', async () => {
    const config = loadConfig(gunyuConfigSchema, [
      {
        server: { listen: '127.0.0.1:0' },
        input: { redis: { addresses: [source.address] } },
        output: { redis: { addresses: [target.address] } },
      },
    ]);
    gunyu = await createGunyuService(config, {
      logger: createLogger({ name: 'gunyu-sync-test', level: 'silent', pretty: false }),
      exitProcess: false,
      syncService: { syncer: { reconnectBackoffMs: 100 } },
    });
    const address = await gunyu.listen();
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    await sourceClient.set('through-the-service', 'yes');
    await waitFor(async () => (await targetClient.get('through-the-service')) === 'yes', {
      timeoutMs: 30_000,
      message: 'sync through the service',
    });
    const health = await fetch(`http://${address}/debug/health`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://${address}/prometheus`)).text();
    expect(metrics).toContain(`redisGunYu_input_offset{input="${source.address}"}`);
    expect((await fetch(`http://${address}/`, { method: 'DELETE' })).status).toBe(200);
    const { service, app } = gunyu;
    await waitFor(() => service.syncers.every((syncer) => syncer.state === 'stop') && !app.server.listening, {
      timeoutMs: 20_000,
      message: 'shutdown after DELETE /',
    });
  }, 60_000);
});
