// Load and delay instrumentation for the gunyu-sync bench: an async redis-benchmark runner (the
// syncer runs in this process, so the event loop must stay free while the load runs), a delay probe
// written to the source every 10 ms, and a recorder of every `counters.syncDelayNs` assignment.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
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

/** Runs redis-benchmark (niced by `nice`) without blocking the event loop; SIGKILL after `timeoutMs`. */
export function runRedisBenchmark(
  host: string,
  port: number,
  args: readonly string[],
  timeoutMs: number,
  nice = 0,
): Promise<BenchmarkRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const command = ['redis-benchmark', '-h', host, '-p', String(port), ...args, '-q'];
    // nice execs redis-benchmark in place, so the pid (and kill) stay the benchmark's.
    const [file, ...fileArgs] = (nice > 0 ? ['nice', '-n', String(nice), ...command] : command) as [
      string,
      ...string[],
    ];
    const child = spawn(file, fileArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
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
  /** Share of the values above 50 ms (the sync_delay goal). */
  over50: number;
}

/** Nearest-rank percentiles. */
export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  const over50 = sorted.length === 0 ? 0 : sorted.filter((value) => value > 50).length / sorted.length;
  return { count: sorted.length, p50: rank(50), p99: rank(99), max: sorted.at(-1) ?? Number.NaN, over50 };
}

export interface SyncDelayRecorder {
  /** Every value assigned to `counters.syncDelayNs` while `recording`, in ms. */
  readonly samples: number[];
  /** performance.now() of each sample. */
  readonly times: number[];
  recording: boolean;
}

/**
 * Bench-only instrumentation: turns `counters.syncDelayNs` into an accessor that also records every
 * assignment (the replayer assigns it once per probe SET it sees in the stream).
 */
export function recordSyncDelays(counters: SyncCounters): SyncDelayRecorder {
  const recorder: SyncDelayRecorder = { samples: [], times: [], recording: false };
  let value = counters.syncDelayNs;
  Object.defineProperty(counters, 'syncDelayNs', {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (next: number) => {
      value = next;
      if (recorder.recording) {
        recorder.samples.push(next / 1e6);
        recorder.times.push(performance.now());
      }
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

  /** Stops and closes both connections. */
  close(): void {
    this.stop();
    this.writer.disconnect();
    this.observer.disconnect();
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

function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

async function redisCpuSeconds(client: Redis): Promise<number> {
  const text = await client.info('cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(text)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

export interface ResourceUsage {
  /** CPU of this process (the in-process syncer, plus the probe), % of one core. */
  benchProcessCpu: number;
  /** % of one core. */
  sourceCpu: number;
  /** Target (gunyu) or replica (native), % of one core. */
  replicaCpu: number;
  /** Busy CPU of the whole machine (2 cores = 200 %), including redis-benchmark and anything else running. */
  machineCpu: number;
  /** GC pauses of this process during the window. */
  gcPauseMs: number;
  gcMaxPauseMs: number;
  majorGcs: number;
}

/** CPU of the processes involved and GC pauses of this one, between start() and stop(). */
export class ResourceMeter {
  private readonly gc: PerformanceEntry[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    this.gc.push(...list.getEntries());
  });
  private startedAt = 0;
  private cpu0 = process.cpuUsage();
  private machine0 = machineTicks();
  private source0 = 0;
  private replica0 = 0;

  constructor(
    private readonly source: Redis,
    private readonly replica: Redis,
  ) {}

  async start(): Promise<void> {
    [this.source0, this.replica0] = await Promise.all([
      redisCpuSeconds(this.source),
      redisCpuSeconds(this.replica),
    ]);
    this.observer.observe({ entryTypes: ['gc'] });
    this.startedAt = performance.now();
    this.cpu0 = process.cpuUsage();
    this.machine0 = machineTicks();
  }

  async stop(): Promise<ResourceUsage> {
    const cpu = process.cpuUsage(this.cpu0);
    const machine = machineTicks();
    const elapsedMs = performance.now() - this.startedAt;
    this.observer.disconnect();
    const [source1, replica1] = await Promise.all([
      redisCpuSeconds(this.source),
      redisCpuSeconds(this.replica),
    ]);
    const pauses = this.gc.map((entry) => entry.duration);
    const cores = cpus().length;
    return {
      benchProcessCpu: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100,
      sourceCpu: (((source1 - this.source0) * 1000) / elapsedMs) * 100,
      replicaCpu: (((replica1 - this.replica0) * 1000) / elapsedMs) * 100,
      machineCpu: ((machine.busy - this.machine0.busy) / (machine.total - this.machine0.total)) * cores * 100,
      gcPauseMs: pauses.reduce((sum, value) => sum + value, 0),
      gcMaxPauseMs: Math.max(0, ...pauses),
      majorGcs: this.gc.filter(
        (entry) =>
          (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ===
          constants.NODE_PERFORMANCE_GC_MAJOR,
      ).length,
    };
  }
}
