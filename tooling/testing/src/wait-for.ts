import { pollUntil } from '@kvforge/runtime';

export interface WaitForOptions {
  /** @default 20000 */
  timeoutMs?: number;
  /** @default 25 */
  intervalMs?: number;
  /** Names what was awaited in the timeout error. */
  message?: string;
  signal?: AbortSignal;
}

/**
 * Polls `predicate` until it returns a truthy value (which is returned) or throws on timeout.
 * Use it instead of sleeps: it waits as long as a slow machine needs and no longer. The test
 * defaults of runtime's pollUntil: a generous 20 s for a loaded CI box.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  return pollUntil(async () => (await predicate()) || undefined, {
    timeoutMs: options.timeoutMs ?? 20_000,
    intervalMs: options.intervalMs ?? 25,
    description: options.message ?? 'a condition',
    ...(options.signal ? { signal: options.signal } : {}),
  }) as Promise<NonNullable<T>>;
}
