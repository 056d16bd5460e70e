import type { Logger } from '@kvforge/runtime';
import { compareRedisDatasets, type RedisProcess, seededRandom, startRedis, waitFor } from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { isLeaseKey } from '../src/fencing/target-lease';
import type { Syncer } from '../src/syncer';
import { type RdbTamper, RdbTamperProxy } from './rdb-tamper-proxy';
import { isCheckpointKey, syncerFor } from './sync-helpers';

// Incompressible (LZF finds no repeats) so it appears verbatim in the RDB.
const MARKER = 'q7Zk2VwXe9LpR4tYb1NcH8uJf3MsA6dG';
const KEY_COUNT = 4000;

interface Harness {
  source: RedisProcess;
  target: RedisProcess;
  proxy: RdbTamperProxy;
  syncer: Syncer;
  /** One client per server for the whole test (closed by the server's stop()). */
  sourceClient: Redis;
  targetClient: Redis;
  log: { message: string; syncPhase: number; error?: string }[];
}

let harness: Harness | undefined;

afterEach(async () => {
  if (!harness) return;
  const { source, target, proxy, syncer } = harness;
  harness = undefined;
  proxy.release();
  await syncer.stop();
  await proxy.close();
  await Promise.all([source.stop(), target.stop()]);
});

/** Deterministic, incompressible 100-byte values. */
function value(index: number): string {
  const random = seededRandom(index + 1);
  let text = '';
  for (let i = 0; i < 100; i++) text += String.fromCharCode(33 + Math.floor(random() * 94));
  return text;
}

async function fill(client: Redis): Promise<void> {
  const pipeline = client.pipeline();
  for (let i = 0; i < KEY_COUNT; i++) pipeline.set(`key:${i}`, value(i));
  for (let i = 0; i < 20; i++) {
    pipeline.hset(`hash:${i}`, 'a', value(i), 'b', String(i));
    pipeline.rpush(`list:${i}`, value(i), 'x', String(i));
    pipeline.zadd(`zset:${i}`, i, value(i), i + 1, 'm');
  }
  pipeline.set('marker', MARKER);
  await pipeline.exec();
}

async function setUp(transfer: 'diskless' | 'disk', tamper: RdbTamper): Promise<Harness> {
  const [source, target] = await Promise.all([
    startRedis(transfer === 'disk' ? { args: ['--repl-diskless-sync', 'no'] } : {}),
    startRedis(),
  ]);
  const sourceClient = source.client();
  const targetClient = target.client();
  await fill(sourceClient);
  const proxy = await RdbTamperProxy.start({ host: source.host, port: source.port }, tamper);
  const log: Harness['log'] = [];
  const holder: { syncer?: Syncer } = {};
  const record = (message: string | undefined, object: object | string): void => {
    log.push({
      message: message ?? '',
      syncPhase: holder.syncer?.counters.syncPhase ?? -1,
      error: typeof object === 'string' ? undefined : (object as { error?: string }).error,
    });
  };
  const logger: Logger = {
    info: (object: object | string, message?: string) => record(message, object),
    warn: (object: object | string, message?: string) => record(message, object),
    error: (object: object | string, message?: string) => record(message, object),
    debug: () => {},
    child: () => logger,
  };
  const syncer = syncerFor(
    source,
    target,
    {
      inputAddress: `127.0.0.1:${proxy.port}`,
      input: { host: '127.0.0.1', port: proxy.port },
      capaEof: transfer === 'diskless',
    },
    logger,
  );
  holder.syncer = syncer;
  harness = { source, target, proxy, syncer, sourceClient, targetClient, log };
  return harness;
}

/** The session's log lines (the fencing role line of the first lease is not part of the story). */
function sessionLog(h: { log: { message: string }[] }): string[] {
  return h.log.map((entry) => entry.message).filter((message) => !message.startsWith('pipeline role'));
}

async function checkpointKeys(client: Redis): Promise<string[]> {
  const keys: string[] = [];
  for (let db = 0; db < 16; db++) {
    await client.select(db);
    keys.push(...(await client.keys('redis-gunyu-checkpoint*')).filter((key) => !isLeaseKey(key)));
  }
  await client.select(0);
  return keys;
}

/** The failed session left no checkpoint, never reached the stream phase and is not retried yet (held). */
async function expectNotSynced(h: Harness, error: RegExp): Promise<void> {
  await waitFor(() => h.syncer.lastError !== undefined && h.syncer.counters.syncPhase === 0, {
    timeoutMs: 10_000,
    message: 'the syncer did not notice the damaged RDB',
  });
  expect(h.syncer.lastError).toMatch(error);
  expect(h.syncer.state).toBe('ready_run');
  expect(h.syncer.counters.fullSyncs).toBe(1);
  expect(await checkpointKeys(h.targetClient)).toEqual([]);
  expect(sessionLog(h)).toEqual(['full sync started', 'sync session failed, retrying']);
}

/** After `release()`: a second full sync, stream phase reached, target identical to the source. */
async function expectResynced(h: Harness): Promise<void> {
  h.proxy.release();
  await waitFor(
    async () => {
      const info = await h.sourceClient.info('replication');
      const offset = Number(/master_repl_offset:(\d+)/.exec(info)?.[1]);
      return h.syncer.counters.syncPhase === 2 && h.syncer.counters.ackOffset >= offset;
    },
    { timeoutMs: 15_000, message: 'no new full sync after the damaged RDB' },
  );
  expect(h.syncer.counters.fullSyncs).toBe(2);
  expect(h.syncer.counters.incrementalSyncs).toBe(0);
  expect(sessionLog(h)).toEqual([
    'full sync started',
    'sync session failed, retrying',
    'full sync started',
    'full sync done',
  ]);
  // 'full sync done' (checkpoint written) was never logged while the first session ran.
  expect(h.log.slice(0, 2).every((entry) => entry.syncPhase !== 2)).toBe(true);
  expect(await checkpointKeys(h.targetClient)).not.toEqual([]);
  const result = await compareRedisDatasets(h.sourceClient, h.targetClient, {
    ignoreKey: isCheckpointKey,
  });
  expect(result.differences).toEqual([]);
  expect(result.keyCount).toBeGreaterThan(KEY_COUNT);
  expect(await h.targetClient.get('marker')).toBe(MARKER);
}

describe.each(['diskless', 'disk'] as const)('a damaged RDB (%s transfer)', (transfer) => {
  const header = transfer === 'diskless' ? /^\$EOF:/ : /^\$\d+$/;

  it('one flipped byte: CRC mismatch, no checkpoint, then a clean full resync', async () => {
    const h = await setUp(transfer, { kind: 'flip', marker: Buffer.from(MARKER) });
    h.syncer.start();
    await h.proxy.tampered;
    expect(h.proxy.rdbHeader).toMatch(header);
    await expectNotSynced(h, /RDB checksum mismatch/);
    await expectResynced(h);
  }, 30_000);

  it('cut halfway: half-applied target is not reported synced, then a clean full resync', async () => {
    const h = await setUp(transfer, { kind: 'truncate', afterBytes: 200_000 });
    h.syncer.start();
    await h.proxy.tampered;
    expect(h.proxy.rdbHeader).toMatch(header);
    // The first half is being applied while the rest never comes: partial data, full-sync phase, no checkpoint.
    await waitFor(async () => (await h.targetClient.dbsize()) > 0, {
      timeoutMs: 10_000,
      message: 'first half applied',
    });
    expect(h.syncer.counters.syncPhase).toBe(1);
    expect(await checkpointKeys(h.targetClient)).toEqual([]);
    h.proxy.cut();
    await expectNotSynced(h, /closed/);
    expect(await h.targetClient.dbsize()).toBeLessThan(KEY_COUNT + 61);
    await expectResynced(h);
  }, 30_000);
});
