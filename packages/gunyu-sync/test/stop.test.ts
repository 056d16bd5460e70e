import { type RedisProcess, startRedis, waitFor } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillEveryType } from './fill-dataset';
import { syncerFor } from './sync-helpers';

let source: RedisProcess;
let target: RedisProcess;

beforeAll(async () => {
  [source, target] = await Promise.all([startRedis(), startRedis()]);
  await fillEveryType(source.client());
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe('Syncer.stop()', () => {
  it('a stop that lands while the full sync is finishing stays a stop (no new session, no hang)', async () => {
    const syncer = syncerFor(source, target, { drainTimeoutMs: 20_000 });
    // The target refuses writes for a while: the RDB replay is stuck in its last step when stop() comes.
    await target.client().call('CLIENT', 'PAUSE', '1500', 'WRITE');
    syncer.start();
    await waitFor(async () => syncer.counters.syncPhase === 1, {
      timeoutMs: 30_000,
      message: 'no full sync',
    });
    const stopping = syncer.stop();
    expect(syncer.state).toBe('stop');
    await stopping; // the paused writes complete, the checkpoint is written, then the session ends
    expect(syncer.state).toBe('stop');
    const sessions = syncer.counters.fullSyncs + syncer.counters.incrementalSyncs;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // a new session would start within its back-off
    expect(syncer.counters.fullSyncs + syncer.counters.incrementalSyncs).toBe(sessions);
    expect(syncer.state).toBe('stop');
  }, 60_000);
});
