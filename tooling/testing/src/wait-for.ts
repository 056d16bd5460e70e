import { setTimeout as delay } from 'node:timers/promises';

export interface WaitForOptions {
  /** @default 20000 */
  timeoutMs?: number;
  /** @default 25 */
  intervalMs?: number;
  /** Names what was awaited in the timeout error. */
  message?: string;
}

/**
 * Polls `predicate` until it returns a truthy value (which is returned) or throws on timeout.
 * Use it instead of sleeps: it waits as long as a slow machine needs and no longer.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${options.message ?? 'a condition'}${reason}`,
      );
    }
    await delay(intervalMs);
  }
}
