import { compareRedisDatasets, type RedisProcess, startRedis, waitFor } from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Syncer } from '../src/syncer';
import { fillEveryType } from './fill-dataset';
import { isCheckpointKey, syncerFor } from './sync-helpers';

let source: RedisProcess;
let target: RedisProcess;
/** One client per server for the whole file (polls reuse it instead of opening one per attempt). */
let sourceClient: Redis;
let targetClient: Redis;
const syncers: Syncer[] = [];

beforeAll(async () => {
  [source, target] = await Promise.all([startRedis(), startRedis()]);
  sourceClient = source.client();
  targetClient = target.client();
}, 60_000);

afterAll(async () => {
  for (const syncer of syncers) await syncer.stop();
  sourceClient?.disconnect();
  targetClient?.disconnect();
  await Promise.all([source?.stop(), target?.stop()]);
});

async function caughtUp(syncer: Syncer): Promise<void> {
  await waitFor(
    async () => {
      const info = await sourceClient.info('replication');
      const offset = Number(/master_repl_offset:(\d+)/.exec(info)?.[1]);
      return syncer.counters.ackOffset >= offset && syncer.counters.syncPhase === 2;
    },
    { timeoutMs: 30_000, message: 'syncer did not catch up' },
  );
}

async function assertEqual(): Promise<void> {
  const result = await compareRedisDatasets(sourceClient, targetClient, { ignoreKey: isCheckpointKey });
  expect(result.differences).toEqual([]);
  expect(result.keyCount).toBeGreaterThan(0);
}

describe('Syncer (standalone → standalone, transaction mode)', () => {
  it('full-syncs every type, then streams commands incl. MULTI/EXEC and SELECT, then resumes with +CONTINUE', async () => {
    const client = sourceClient;
    await fillEveryType(client, { bigListLength: 50_000 });
    const syncer = syncerFor(source, target);
    syncers.push(syncer);
    syncer.start();
    await caughtUp(syncer);
    expect(syncer.counters.fullSyncs).toBe(1);
    await assertEqual();

    await client.set('live:a', '1');
    await client.multi().incr('live:counter').hset('live:h', 'f', 'v').lpush('list:small', 'z').exec();
    await client.select(7);
    await client.set('db7:key', 'x');
    await client.select(0);
    await client.del('string:small');
    await client.expire('hash:small', 100);
    await caughtUp(syncer);
    await assertEqual();
    const checkpointDbs = await targetClient.hgetall('redis-gunyu-checkpoint');
    expect(Object.keys(checkpointDbs).some((field) => field.endsWith('_offset'))).toBe(true);
    expect(
      await targetClient.hget(
        'redis-gunyu-checkpoint-hash',
        Object.keys(checkpointDbs)[0]?.split('_')[0] ?? '',
      ),
    ).toBe('redis-gunyu-checkpoint');

    await syncer.pause();
    expect(syncer.state).toBe('pause');
    for (let i = 0; i < 500; i++) await client.incr('live:counter');
    syncer.resume();
    await caughtUp(syncer);
    expect(syncer.counters.fullSyncs).toBe(1);
    expect(syncer.counters.incrementalSyncs).toBe(1);
    expect(await targetClient.get('live:counter')).toBe('501');
    await assertEqual();
  }, 120_000);

  it('non-transaction mode over a disk-based transfer: filters, probe delay and a source restart', async () => {
    const [from, to] = await Promise.all([
      startRedis({ args: ['--repl-diskless-sync', 'no'] }),
      startRedis(),
    ]);
    // Clients of servers started here are closed by their stop() in finally.
    const client = from.client();
    const probe = to.client();
    try {
      await client.set('keep:1', 'a');
      await client.set('skip:1', 'b');
      const syncer = syncerFor(from, to, {
        transaction: false,
        capaEof: false,
        syncDelayTestKey: 'gunyu-delay-probe',
        filter: {
          commandBlacklist: ['append'],
          prefixKeyBlacklist: ['skip:'],
          prefixKeyWhitelist: [],
          dbBlacklist: [2],
        },
        replay: { replayTransaction: false, updateCheckpointTickerMs: 100 },
      });
      syncers.push(syncer);
      syncer.start();
      await waitFor(async () => (await probe.get('keep:1')) === 'a' && syncer.counters.syncPhase === 2, {
        timeoutMs: 30_000,
        message: 'full sync',
      });
      expect(await probe.get('skip:1')).toBeNull();
      await client.set('keep:2', 'c');
      await client.set('skip:2', 'd');
      await client.append('keep:1', 'zzz');
      await client.select(2);
      await client.set('keep:db2', 'e');
      await client.select(0);
      await client.incr('keep:n');
      await waitFor(async () => (await probe.get('keep:n')) === '1', {
        timeoutMs: 20_000,
        message: 'stream',
      });
      expect(await probe.get('keep:2')).toBe('c');
      expect(await probe.get('skip:2')).toBeNull();
      expect(await probe.get('keep:1')).toBe('a');
      await probe.select(2);
      expect(await probe.get('keep:db2')).toBeNull();
      await probe.select(0);
      await waitFor(async () => syncer.counters.syncDelayNs > 0, {
        timeoutMs: 10_000,
        message: 'delay probe',
      });
      expect(syncer.counters.filteredCommands).toBeGreaterThan(0);
      // The source restarts (it reloads the dump its disk-based transfer wrote): the syncer reconnects and full-syncs.
      await from.kill();
      await from.restart();
      // The client reconnects to the restarted source by itself (ioredis retries; the queue waits).
      await client.set('keep:after-restart', 'f');
      try {
        await waitFor(async () => (await probe.get('keep:after-restart')) === 'f', {
          // Reconnect back-off plus a disk-based full sync: generous, for a loaded CI machine.
          timeoutMs: 40_000,
          message: 'after source restart',
        });
      } catch (error) {
        console.log(
          'DIAG',
          JSON.stringify(syncer.counters),
          JSON.stringify(await probe.keys('*')),
          JSON.stringify(await client.keys('*')),
          await client.info('replication'),
        );
        throw error;
      }
      expect(syncer.counters.fullSyncs).toBe(2);
      await syncer.stop();
    } finally {
      await Promise.all([from.stop(), to.stop()]);
    }
  }, 150_000);

  it('waits while the target is down and converges once it is back', async () => {
    const [from, to] = await Promise.all([startRedis(), startRedis()]);
    const client = from.client();
    const probe = to.client();
    try {
      await client.set('before', '1');
      const syncer = syncerFor(from, to);
      syncers.push(syncer);
      syncer.start();
      await waitFor(async () => (await probe.get('before')) === '1', {
        timeoutMs: 30_000,
        message: 'first sync',
      });
      await to.kill();
      for (let i = 0; i < 200; i++) await client.incr('while-down');
      await waitFor(async () => syncer.counters.syncPhase === 0 && syncer.lastError !== undefined, {
        timeoutMs: 20_000,
        message: 'syncer noticed the target is down',
      });
      expect(syncer.state).not.toBe('stop');
      await to.restart();
      // The restarted target lost its data (no persistence) and the checkpoint with it: a new full sync follows.
      await waitFor(async () => (await probe.get('while-down')) === '200', {
        timeoutMs: 30_000,
        message: 'converged',
      });
      const result = await compareRedisDatasets(client, probe, { ignoreKey: isCheckpointKey });
      expect(result.differences).toEqual([]);
      expect(syncer.counters.fullSyncs).toBe(2);
      await syncer.stop();
    } finally {
      await Promise.all([from.stop(), to.stop()]);
    }
  }, 90_000);
});
