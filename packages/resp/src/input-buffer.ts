/**
 * Bytes received but not yet consumed. A chunk that holds whole frames is used in place; a frame split
 * over reads is gathered into an owned buffer that grows by doubling (amortised O(n) copies for a 10 MB
 * value, where concatenating per read would be O(n²)). Owned buffers are append-only: views handed out
 * earlier (replies still queued in a socket) are never overwritten.
 */
export class InputBuffer {
  buffer: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  private owned = false;

  get length(): number {
    return this.end - this.start;
  }

  append(chunk: Buffer): void {
    if (this.start === this.end) {
      this.buffer = chunk;
      this.start = 0;
      this.end = chunk.length;
      this.owned = false;
      return;
    }
    if (this.owned && this.buffer.length - this.end >= chunk.length) {
      chunk.copy(this.buffer, this.end);
      this.end += chunk.length;
      return;
    }
    const remaining = this.end - this.start;
    const next = Buffer.allocUnsafe(Math.max(remaining + chunk.length, remaining * 2, 16 * 1024));
    this.buffer.copy(next, 0, this.start, this.end);
    chunk.copy(next, remaining);
    this.buffer = next;
    this.start = 0;
    this.end = remaining + chunk.length;
    this.owned = true;
  }

  /** Marks everything before `offset` (an absolute offset into `buffer`) as used. */
  consumeTo(offset: number): void {
    this.start = offset;
    if (this.start >= this.end) this.clear();
  }

  clear(): void {
    this.buffer = Buffer.alloc(0);
    this.start = 0;
    this.end = 0;
    this.owned = false;
  }
}
