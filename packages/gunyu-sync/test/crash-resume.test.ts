import { fileURLToPath } from 'node:url';
import { sleep } from '@kvforge/runtime';
import {
  compareRedisDatasets,
  type ManagedProcess,
  type RedisProcess,
  seededRandom,
  startProcess,
  startRedis,
  waitFor,
} from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCheckpointKey } from './sync-helpers';

const script = fileURLToPath(new URL('./fixtures/syncer-process.ts', import.meta.url));
/*
 * Why the write volume is bounded: a syncer killed every few hundred ms during catch-up makes little
 * checkpoint progress (it reads the backlog far faster than it replays it), so the lag can ratchet up
 * across restarts. With everything written after the first full sync below the source's backlog, any
 * checkpoint the target holds is still in the backlog, so every restart must resume with +CONTINUE.
 */
const BACKLOG_BYTES = 64 * 1024 * 1024;
const ROUNDS = 20;
/** Iterations (20 INCRs + one MULTI of 2 INCRs, ~700 stream bytes) written during each round. */
const ITERATIONS_PER_ROUND = 500;
let source: RedisProcess;
let target: RedisProcess;
let syncer: ManagedProcess | undefined;

beforeAll(async () => {
  [source, target] = await Promise.all([
    startRedis({ args: ['--repl-backlog-size', String(BACKLOG_BYTES)] }),
    startRedis(),
  ]);
}, 60_000);

afterAll(async () => {
  await syncer?.stop();
  await Promise.all([source?.stop(), target?.stop()]);
});

function startSyncer(): Promise<ManagedProcess> {
  return startProcess({
    name: 'syncer',
    command: process.execPath,
    args: ['--conditions=@kvforge/source', '--import', 'tsx', script, source.address, target.address, 'true'],
    readyWhen: { logLine: /syncer started/ },
    readyTimeoutMs: 30_000,
  });
}

function lastStatus(process: ManagedProcess): { full: number; incr: number; ack: number } {
  const lines = process
    .output()
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('state '));
  const last = lines.at(-1) ?? '';
  const field = (name: string): number => Number(new RegExp(`${name}=(\\d+)`).exec(last)?.[1] ?? 0);
  return { full: field('full'), incr: field('incr'), ack: field('ack') };
}

async function infoField(client: Redis, section: string, name: string): Promise<number> {
  const info = await client.info(section);
  return Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]);
}

async function writeIterations(client: Redis, iterations: number): Promise<void> {
  for (let iteration = 0; iteration < iterations; iteration++) {
    const pipeline = client.pipeline();
    for (let i = 0; i < 20; i++) pipeline.incr(`counter:${i % 5}`);
    await pipeline.exec();
    await client.multi().incr('counter:tx').incr('counter:tx').exec();
  }
}

describe('kill -9 and restart (transaction mode)', () => {
  it('resumes with +CONTINUE and applies every INCR exactly once', async () => {
    const client = source.client();
    const targetClient = target.client();
    await client.set('seed', 'x');
    syncer = await startSyncer();
    await waitFor(async () => (await targetClient.get('seed')) === 'x', {
      timeoutMs: 30_000,
      message: 'initial full sync',
    });
    const offsetAfterFullSync = await infoField(client, 'replication', 'master_repl_offset');
    const random = seededRandom(7);
    for (let round = 0; round < ROUNDS; round++) {
      const writes = writeIterations(client, ITERATIONS_PER_ROUND);
      const running = syncer;
      await waitFor(() => lastStatus(running).full + lastStatus(running).incr > 0, {
        timeoutMs: 30_000,
        message: 'syncer running',
      });
      // A random point inside the writes (not a wait for a condition: the kill moment itself is the input).
      await sleep(100 + Math.floor(random() * 400));
      await running.kill('SIGKILL');
      syncer = await startSyncer();
      await writes;
    }
    const sourceOffset = await infoField(client, 'replication', 'master_repl_offset');
    // The premise of the test: every checkpoint written since the full sync is still in the backlog.
    expect(sourceOffset - offsetAfterFullSync).toBeLessThan(BACKLOG_BYTES / 2);
    const last = syncer;
    try {
      await waitFor(() => lastStatus(last).ack >= sourceOffset, {
        timeoutMs: 60_000,
        message: 'syncer did not catch up after the restarts',
      });
    } catch (error) {
      console.log(sourceOffset, last.output().slice(-3000));
      throw error;
    }
    // The source served exactly one full sync (the first start); every restart came back with +CONTINUE.
    expect(await infoField(client, 'stats', 'sync_full')).toBe(1);
    expect(await infoField(client, 'stats', 'sync_partial_ok')).toBeGreaterThanOrEqual(ROUNDS);
    expect(lastStatus(last)).toMatchObject({ full: 0, incr: 1 });
    const expected = ROUNDS * ITERATIONS_PER_ROUND;
    for (let i = 0; i < 5; i++) expect(await targetClient.get(`counter:${i}`)).toBe(String(expected * 4));
    expect(await targetClient.get('counter:tx')).toBe(String(expected * 2));
    const comparison = await compareRedisDatasets(client, targetClient, { ignoreKey: isCheckpointKey });
    expect(comparison.differences).toEqual([]);
    client.disconnect();
    targetClient.disconnect();
  }, 240_000);
});
