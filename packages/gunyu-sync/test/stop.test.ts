import { type Logger, SILENT_LOGGER } from '@kvforge/runtime';
import { type RedisProcess, startRedis, waitFor } from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillEveryType } from './fill-dataset';
import { syncerFor } from './sync-helpers';

let source: RedisProcess;
let target: RedisProcess;
let targetClient: Redis;

beforeAll(async () => {
  [source, target] = await Promise.all([startRedis(), startRedis()]);
  const sourceClient = source.client();
  await fillEveryType(sourceClient);
  sourceClient.disconnect();
  targetClient = target.client();
}, 60_000);

afterAll(async () => {
  targetClient?.disconnect();
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('Syncer.stop()', () => {
  it('a stop that lands while the full sync is finishing stays a stop (no new session, no hang)', async () => {
    const errors: string[] = [];
    const recordError = (_object: object | string, message?: string): void => {
      errors.push(message ?? '');
    };
    const logger: Logger = { ...SILENT_LOGGER, error: recordError, child: () => logger };
    const syncer = syncerFor(source, target, { drainTimeoutMs: 20_000 }, logger);
    // The fencing lease is taken first (its EVAL is a write, CLIENT PAUSE WRITE would hold it too).
    expect(await syncer.guard.lead(new AbortController().signal, () => {})).toBe(true);
    // The target refuses writes until the test lets go: the RDB replay is stuck when stop() comes.
    await targetClient.call('CLIENT', 'PAUSE', '60000', 'WRITE');
    syncer.start();
    // Phase 1 reached: the session is now blocked on its first target write (the checkpoint cleanup).
    await waitFor(() => syncer.counters.syncPhase === 1, {
      timeoutMs: 30_000,
      message: 'no full sync',
    });
    const stopping = syncer.stop();
    expect(syncer.state).toBe('stop');
    await targetClient.call('CLIENT', 'UNPAUSE');
    await stopping; // the paused writes complete, the checkpoint is written, then the session ends
    expect(syncer.state).toBe('stop');
    expect(syncer.counters.fullSyncs + syncer.counters.incrementalSyncs).toBe(1);
    // stop() resolved only once the session loop ended (it did not give up waiting on it), and the
    // loop sets syncPhase 0 as it exits: there is no loop left that could start a new session.
    expect(errors).toEqual([]);
    expect(syncer.counters.syncPhase).toBe(0);
    expect(syncer.state).toBe('stop');
  }, 60_000);
});
