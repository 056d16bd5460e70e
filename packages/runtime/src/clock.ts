/** Cancelled by its AbortSignal: the caller stopped waiting. */
export class AbortedError extends Error {
  readonly code = 'RUNTIME_ERR_ABORTED';
  constructor(message = 'aborted') {
    super(message);
    this.name = 'AbortedError';
  }
}

export type TimerHandle = { readonly id: unknown };

/**
 * Time as code sees it. Libraries take a Clock so tests can drive time by hand (ManualClock)
 * instead of waiting on the wall clock.
 */
export interface Clock {
  /** Milliseconds since the epoch (or any fixed origin for a manual clock). */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => ({ id: setTimeout(callback, delayMs) }),
  clearTimeout: (handle) => clearTimeout(handle.id as NodeJS.Timeout),
};

/** Resolves after `delayMs` on `clock`; rejects with AbortedError when `signal` aborts first. */
export function sleep(delayMs: number, options: { clock?: Clock; signal?: AbortSignal } = {}): Promise<void> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(new AbortedError());
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(new AbortedError());
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A poll that ran out of time: the message names what was awaited and the last failure seen. */
export class PollTimeoutError extends Error {
  readonly code = 'RUNTIME_ERR_POLL_TIMEOUT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PollTimeoutError';
  }
}

export interface PollOptions {
  /** What is awaited, for the timeout message. */
  description?: string;
  /** Give up after this many ms. @default 10_000 */
  timeoutMs?: number;
  /** Absolute give-up time on `clock` (wins over timeoutMs). */
  deadline?: number;
  /** @default 20 */
  intervalMs?: number;
  signal?: AbortSignal;
  clock?: Clock;
}

/**
 * Calls `check` until it returns a value other than `undefined`/`false` and resolves with it. A
 * throwing check counts as "not yet" (its error is kept for the timeout message). One check runs
 * at a time, never overlapping.
 */
export async function pollUntil<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: PollOptions = {},
): Promise<T> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const deadline = options.deadline ?? clock.now() + (options.timeoutMs ?? 10_000);
  const intervalMs = options.intervalMs ?? 20;
  let lastError: unknown;
  for (;;) {
    if (options.signal?.aborted) throw new AbortedError();
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (clock.now() >= deadline) {
      const what = options.description ?? 'condition';
      const why = lastError instanceof Error ? `: last error ${lastError.message}` : '';
      throw new PollTimeoutError(`timed out waiting for ${what}${why}`, { cause: lastError });
    }
    await sleep(intervalMs, { clock, ...(options.signal ? { signal: options.signal } : {}) });
  }
}
