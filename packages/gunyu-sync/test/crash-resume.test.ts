import { fileURLToPath } from 'node:url';
import {
  compareRedisDatasets,
  type ManagedProcess,
  type RedisProcess,
  startProcess,
  startRedis,
  waitFor,
} from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCheckpointKey } from './sync-helpers';

const script = fileURLToPath(new URL('./fixtures/syncer-process.ts', import.meta.url));
let source: RedisProcess;
let target: RedisProcess;
let syncer: ManagedProcess | undefined;

beforeAll(async () => {
  // A large backlog so every restart within the test can resume with +CONTINUE.
  [source, target] = await Promise.all([startRedis({ args: ['--repl-backlog-size', '64mb'] }), startRedis()]);
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

function lastStatus(process: ManagedProcess): { full: number; incr: number } {
  const lines = process
    .output()
    .trim()
    .split('\n')
    .filter((line) => line.startsWith('state '));
  const last = lines.at(-1) ?? '';
  return { full: Number(/full=(\d+)/.exec(last)?.[1] ?? 0), incr: Number(/incr=(\d+)/.exec(last)?.[1] ?? 0) };
}

describe('kill -9 and restart (transaction mode)', () => {
  it('resumes with +CONTINUE and applies every INCR exactly once', async () => {
    const client = source.client();
    await client.set('seed', 'x');
    syncer = await startSyncer();
    await waitFor(async () => (await target.client().get('seed')) === 'x', {
      timeoutMs: 30_000,
      message: 'initial full sync',
    });
    let expected = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const pipeline = client.pipeline();
        for (let i = 0; i < 20; i++) pipeline.incr(`counter:${i % 5}`);
        await pipeline.exec();
        await client.multi().incr('counter:tx').incr('counter:tx').exec();
        expected += 1;
      }
    })();
    let seed = 7;
    for (let round = 0; round < 20; round++) {
      seed = (seed * 48271) % 2147483647;
      await waitFor(
        async () => lastStatus(syncer as ManagedProcess).full + lastStatus(syncer as ManagedProcess).incr > 0,
        { timeoutMs: 30_000, message: 'syncer running' },
      );
      await new Promise((resolve) => setTimeout(resolve, 100 + (seed % 400)));
      await syncer.kill('SIGKILL');
      syncer = await startSyncer();
    }
    writing = false;
    await writer;
    const info = await client.info('replication');
    const sourceOffset = Number(/master_repl_offset:(\d+)/.exec(info)?.[1]);
    try {
      await waitFor(
        async () => {
          const line = (syncer as ManagedProcess).output().trim().split('\n').at(-1) ?? '';
          return Number(/ack=(\d+)/.exec(line)?.[1] ?? 0) >= sourceOffset;
        },
        { timeoutMs: 60_000, message: 'syncer did not catch up after the restarts' },
      );
    } catch (error) {
      console.log(sourceOffset, syncer.output().slice(-3000));
      throw error;
    }
    const status = lastStatus(syncer);
    // Only the very first start did a full sync: every restart came back with +CONTINUE.
    expect(status.full).toBe(0);
    expect(status.incr).toBe(1);
    for (let i = 0; i < 5; i++) expect(await target.client().get(`counter:${i}`)).toBe(String(expected * 4));
    expect(await target.client().get('counter:tx')).toBe(String(expected * 2));
    const comparison = await compareRedisDatasets(source.client(), target.client(), {
      ignoreKey: isCheckpointKey,
    });
    expect(comparison.differences).toEqual([]);
  }, 150_000);
});
