/** The original's limiter: a fixed one-second window counter. `now` is passed in (a cached clock). */
export class QpsLimiter {
  private windowStart = 0;
  private count = 0;

  constructor(public maxQps: number) {}

  /** true when one more command fits in the current second. */
  tryAcquire(nowMs: number): boolean {
    if (nowMs - this.windowStart >= 1000) {
      this.windowStart = nowMs;
      this.count = 0;
    }
    if (this.count >= this.maxQps) return false;
    this.count++;
    return true;
  }
}
