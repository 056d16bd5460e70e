import { type Clock, SYSTEM_CLOCK, sleep } from '@kvforge/runtime';

/**
 * Paces a migration to `max_migrate_keys_per_second` (0 = unlimited). Each batch books its share of
 * time on a virtual timeline and waits until its slot starts, so the average rate never passes the
 * limit; a slow stretch is not "paid back" with a burst (the timeline never lags behind now).
 */
export class KeyRateLimiter {
  private nextSlotMs = 0;

  constructor(
    private readonly keysPerSecond: number,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  get limited(): boolean {
    return this.keysPerSecond > 0;
  }

  /** Keys per MIGRATE so that one batch is at most ~100 ms of the budget. */
  batchCap(batchSize: number): number {
    return this.limited ? Math.max(1, Math.min(batchSize, Math.ceil(this.keysPerSecond / 10))) : batchSize;
  }

  async take(keys: number): Promise<void> {
    if (!this.limited) return;
    const now = this.clock.now();
    const start = Math.max(now, this.nextSlotMs);
    this.nextSlotMs = start + (keys * 1000) / this.keysPerSecond;
    if (start > now) await sleep(start - now, { clock: this.clock });
  }
}
