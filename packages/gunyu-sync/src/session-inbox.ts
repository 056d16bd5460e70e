import { type Clock, SYSTEM_CLOCK, type TimerHandle } from '@kvforge/runtime';
import { type SpillingSpool, SpoolFullError } from './core/spilling-spool';
import { type SpoolItem, TICK } from './replay/spool-item';
import type { SyncCounters } from './replay/sync-counters';

/** The source side of a session: its socket can stop and start being read. */
export interface PausableSource {
  pauseReading(): void;
  resumeReading(): void;
}

/**
 * What the source connection hands to one session's replay, in order: the spool, plus the items that
 * arrived once it was full (disk limit, or memory in a memory-only spool). While any item is held the
 * source socket is paused, so nothing is dropped and the source buffers (and may cut us off by
 * client-output-buffer-limit, exactly as for a slow native replica).
 */
export class SessionInbox {
  /**
   * Flow control in the stream phase: reading may run ahead of replay by this many queued bytes,
   * then the source socket pauses until replay has taken half of it. Without it a catch-up read the
   * whole backlog before replay got CPU, so checkpoints stood still (issue 12). 0 = unbounded (the
   * RDB phase: the spool and its disk limit decide).
   */
  readAheadBytes = 0;
  /**
   * How long a read-ahead pause may last without replay draining to half (a frozen or very slow target):
   * then reading resumes and the excess spills to the spool's disk until replay has caught up to half
   * the read-ahead. A source that waits on a paused replica cuts it off; 0 = pause without limit (a
   * memory-only channel has nowhere to spill).
   */
  readAheadStallMs = 0;
  private spillingAhead = false;
  private stallTimer: TimerHandle | undefined;
  private readonly held: SpoolItem[] = [];
  private wake: (() => void) | undefined;
  /** Set by finish(): next() answers undefined once everything received was taken. */
  private finishing = false;
  /** Set by abort(): the session was closed from outside, next() answers this from now on. */
  private aborted: SpoolItem | undefined;

  constructor(
    readonly spool: SpillingSpool<SpoolItem>,
    private readonly source: PausableSource,
    private readonly counters: SyncCounters,
    /** How long next() waits on an empty spool before it answers a TICK (the batch ticker). */
    private readonly tickMs: number,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  get finished(): boolean {
    return this.finishing;
  }

  /** Items waiting (a TICK is never counted). */
  get length(): number {
    return this.spool.length;
  }

  push(item: SpoolItem): void {
    if (this.held.length === 0 && !this.readAheadFull() && this.tryPush(item)) {
      this.wake?.();
      return;
    }
    if (this.held.length === 0) {
      this.source.pauseReading();
      if (this.readAheadFull()) {
        this.counters.readAheadPauses++;
        if (this.readAheadStallMs > 0) {
          this.stallTimer = this.clock.setTimeout(() => this.spillAhead(), this.readAheadStallMs);
        }
      } else this.counters.spoolFullPauses++;
    }
    this.held.push(item);
  }

  private get queuedBytes(): number {
    return this.spool.memoryBytes + this.spool.diskBytes;
  }

  private readAheadFull(): boolean {
    return this.readAheadBytes > 0 && !this.spillingAhead && this.queuedBytes >= this.readAheadBytes;
  }

  /** Replay took nothing for readAheadStallMs: stop making the source wait, spill instead. */
  private spillAhead(): void {
    this.stallTimer = undefined;
    this.spillingAhead = true;
    this.counters.readAheadSpills++;
    this.releaseHeld();
  }

  private clearStallTimer(): void {
    if (this.stallTimer) this.clock.clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  /** Graceful end: stop waiting for more; what was received is still handed out. */
  finish(): void {
    this.finishing = true;
    this.wake?.();
  }

  /**
   * The session was closed from outside (lease lost, stop): its spool is about to be dropped, so the
   * source's own close item may never be taken. next() answers CLOSED with `error` from now on.
   */
  abort(error: Error | undefined): void {
    this.aborted ??= { kind: 'closed', error };
    this.clearStallTimer();
    this.wake?.();
  }

  /** The next item; TICK after tickMs of nothing; undefined once finished and empty. */
  async next(): Promise<SpoolItem | undefined> {
    const { spool, held } = this;
    for (;;) {
      if (this.aborted) return this.aborted;
      const item = spool.shift();
      if (item) {
        // Resume reading at half the read-ahead (hysteresis: not one pause per item).
        if (this.readAheadBytes > 0 && this.queuedBytes <= this.readAheadBytes / 2) {
          this.spillingAhead = false;
          if (held.length > 0) this.releaseHeld();
        }
        return item;
      }
      if (held.length > 0) {
        this.releaseHeld();
        if (spool.length > 0) continue;
        // An item larger than the whole budget never fits: hand it over directly.
        const oversized = held.shift();
        if (held.length === 0) this.source.resumeReading();
        return oversized;
      }
      if (this.finishing) return undefined;
      await new Promise<void>((resolve) => {
        const timer: TimerHandle = this.clock.setTimeout(resolve, Math.max(this.tickMs, 1));
        this.wake = () => {
          this.clock.clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
      if (spool.length === 0 && !this.aborted) return TICK;
    }
  }

  private tryPush(item: SpoolItem): boolean {
    try {
      this.spool.push(item);
      return true;
    } catch (error) {
      if (error instanceof SpoolFullError) return false;
      throw error;
    }
  }

  private releaseHeld(): void {
    const held = this.held;
    let released = 0;
    while (released < held.length && this.tryPush(held[released] as SpoolItem)) released++;
    held.splice(0, released);
    if (held.length === 0) {
      this.clearStallTimer();
      this.source.resumeReading();
    }
  }
}
