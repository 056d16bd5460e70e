import { describe, expect, it } from 'vitest';
import { AbortedError, PollTimeoutError, pollUntil, sleep } from './clock';
import { ManualClock } from './manual-clock';

describe('ManualClock', () => {
  it('fires due timers in order and only when advanced', () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 20);
    clock.setTimeout(() => fired.push('a'), 10);
    const cancelled = clock.setTimeout(() => fired.push('x'), 15);
    clock.clearTimeout(cancelled);
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(11);
    expect(fired).toEqual(['a', 'b']);
    expect(clock.now()).toBe(1020);
    expect(clock.pendingTimers).toBe(0);
  });

  it('drives sleep without waiting', async () => {
    const clock = new ManualClock();
    let done = false;
    const sleeping = sleep(5000, { clock }).then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(5000);
    await sleeping;
    expect(done).toBe(true);
  });
});

describe('sleep', () => {
  it('rejects when aborted, before or during', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const sleeping = sleep(1000, { clock, signal: controller.signal });
    controller.abort();
    await expect(sleeping).rejects.toBeInstanceOf(AbortedError);
    expect(clock.pendingTimers).toBe(0);
    await expect(sleep(1, { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
  });
});

describe('pollUntil', () => {
  it('resolves with the first truthy value, counting throws as not yet', async () => {
    let calls = 0;
    const value = await pollUntil(
      () => {
        calls++;
        if (calls === 1) throw new Error('not ready');
        return calls >= 3 ? `ready after ${calls}` : undefined;
      },
      { intervalMs: 1 },
    );
    expect(value).toBe('ready after 3');
  });

  it('times out on an injected clock, naming what it waited for and the last error', async () => {
    const clock = new ManualClock();
    const polling = pollUntil(
      () => {
        throw new Error('connection refused');
      },
      { clock, timeoutMs: 100, intervalMs: 10, description: 'redis to answer PING' },
    );
    const outcome = polling.catch((error: unknown) => error);
    for (let step = 0; step < 12; step++) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(10);
    }
    const error = await outcome;
    expect(error).toBeInstanceOf(PollTimeoutError);
    expect((error as Error).message).toBe(
      'timed out waiting for redis to answer PING: last error connection refused',
    );
  });
});
