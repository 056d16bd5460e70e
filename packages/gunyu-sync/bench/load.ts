// Load and delay instrumentation for the gunyu-sync bench: an async redis-benchmark runner (the
// syncer runs in this process, so the event loop must stay free while the load runs), a delay probe
// written to the source every 10 ms, and a recorder of every `counters.syncDelayNs` assignment.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Redis } from 'ioredis';
import type { SyncCounters } from '../src/replay/sync-counters';

export interface BenchmarkRun {
  ms: number;
  /** redis-benchmark's own last summary line (-q). */
  summary: string;
  killed: boolean;
}

const liveBenchmarks = new Set<ChildProcess>();

/** Kills any redis-benchmark still running (cleanup on error). */
export function killBenchmarks(): void {
  for (const child of liveBenchmarks) child.kill('SIGKILL');
  liveBenchmarks.clear();
}

/** Runs redis-benchmark without blocking the event loop; SIGKILL after `timeoutMs`. */
export function runRedisBenchmark(
  host: string,
  port: number,
  args: readonly string[],
  timeoutMs: number,
): Promise<BenchmarkRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('redis-benchmark', ['-h', host, '-p', String(port), ...args, '-q'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveBenchmarks.add(child);
    let output = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString('latin1')).slice(-4096);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString('latin1')).slice(-4096);
    });
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      liveBenchmarks.delete(child);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      liveBenchmarks.delete(child);
      const lines = output
        .split(/[\r\n]+/)
        .map((line) => line.trim())
        .filter((line) => line.length > 0);
      const summary = lines.at(-1) ?? '';
      if (code !== 0 && !killed) {
        reject(new Error(`redis-benchmark exited with ${code}: ${summary}`));
        return;
      }
      resolve({ ms: performance.now() - started, summary, killed });
    });
  });
}

export interface Distribution {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles. */
export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  return { count: sorted.length, p50: rank(50), p99: rank(99), max: sorted.at(-1) ?? Number.NaN };
}

export interface SyncDelayRecorder {
  /** Every value assigned to `counters.syncDelayNs` while `recording`, in ms. */
  readonly samples: number[];
  recording: boolean;
}

/**
 * Bench-only instrumentation: turns `counters.syncDelayNs` into an accessor that also records every
 * assignment (the replayer assigns it once per probe SET it sees in the stream).
 */
export function recordSyncDelays(counters: SyncCounters): SyncDelayRecorder {
  const recorder: SyncDelayRecorder = { samples: [], recording: false };
  let value = counters.syncDelayNs;
  Object.defineProperty(counters, 'syncDelayNs', {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (next: number) => {
      value = next;
      if (recorder.recording) recorder.samples.push(next / 1e6);
    },
  });
  return recorder;
}

/**
 * Writes, every `intervalMs` over one connection to the source:
 * - `SET <syncKey> <inputAddress>_<unix ns>`: the syncer's own sync_delay probe format;
 * - `SET <e2eKey> <n>`: observed on the target (or native replica) through a keyspace notification,
 *   so the n-th notification gives the n-th write's delay until it was applied there.
 */
export class DelayProbe {
  private timer: NodeJS.Timeout | undefined;
  private readonly sentAt: number[] = [];
  private readonly appliedAt: number[] = [];
  private failures = 0;

  constructor(
    private readonly writer: Redis,
    private readonly observer: Redis,
    private readonly keys: { syncKey: string; inputAddress: string; e2eKey: string },
    private readonly intervalMs = 10,
  ) {}

  /** Subscribes on the observed server, then starts writing. */
  async start(): Promise<void> {
    await this.observer.config('SET', 'notify-keyspace-events', 'K$');
    this.observer.on('message', () => {
      this.appliedAt.push(performance.now());
    });
    await this.observer.subscribe(`__keyspace@0__:${this.keys.e2eKey}`);
    this.timer = setInterval(() => {
      const { syncKey, inputAddress, e2eKey } = this.keys;
      this.writer.set(syncKey, `${inputAddress}_${BigInt(Date.now()) * 1_000_000n}`).catch(() => {
        this.failures++;
      });
      this.sentAt.push(performance.now());
      this.writer.set(e2eKey, String(this.sentAt.length)).catch(() => {
        this.failures++;
      });
    }, this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves once every write was seen applied (or after `timeoutMs`). */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.appliedAt.length < this.sentAt.length && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Delay of each write until it was applied, in ms (writes not seen applied are left out). */
  appliedDelaysMs(): number[] {
    const count = Math.min(this.sentAt.length, this.appliedAt.length);
    const delays: number[] = [];
    for (let i = 0; i < count; i++) delays.push((this.appliedAt[i] as number) - (this.sentAt[i] as number));
    return delays;
  }

  get sent(): number {
    return this.sentAt.length;
  }

  get applied(): number {
    return this.appliedAt.length;
  }

  get failed(): number {
    return this.failures;
  }
}
