// Child process of the bench (zset and big-list cases): one full sync of `<source> <target>` (host:port each) in a process of
// its own, so its peak RSS is the syncer's. Samples process.memoryUsage() every 50 ms, reads VmHWM
// (the kernel's peak RSS) when the sync is done, prints one JSON line on stdout and exits.
// Run by full-sync.ts as `node --conditions=@kvforge/source --import tsx bench/rss-child.ts …`.
import { readFileSync } from 'node:fs';
import { benchSyncer, parseEndpoint } from './bench-syncer';

const TIMEOUT_MS = 120_000;

interface Memory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

function statusKb(field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'latin1'));
  return Number(match?.[1] ?? Number.NaN);
}

function memory(): Memory {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}

async function main(): Promise<void> {
  const [sourceAddress, targetAddress, spoolMemoryMb] = process.argv.slice(2);
  if (!sourceAddress || !targetAddress)
    throw new Error('usage: rss-child <source> <target> [spool-memory-mb]');
  // Whatever happens, this process ends by itself.
  setTimeout(() => {
    process.stderr.write('rss-child: timed out\n');
    process.exit(2);
  }, TIMEOUT_MS + 10_000).unref();
  const baseline = memory();
  const baselineHwmKb = statusKb('VmHWM');
  let peak = baseline;
  const max = { ...baseline };
  let samples = 0;
  // [ms since start, rss MB, arrayBuffers MB, heapUsed MB, RDB MB received, keys sent] of each sample.
  const timeline: number[][] = [];
  let started = performance.now();
  let syncer: ReturnType<typeof benchSyncer> | undefined;
  const sample = (): void => {
    const now = memory();
    const counters = syncer?.counters;
    timeline.push([
      Math.round(performance.now() - started),
      ...[now.rss, now.arrayBuffers, now.heapUsed, counters?.rdbBytes ?? 0].map((bytes) =>
        Math.round(bytes / 1e6),
      ),
      counters?.rdbKeysSent ?? 0,
    ]);
    samples++;
    if (now.rss > peak.rss) peak = now;
    for (const field of Object.keys(max) as (keyof Memory)[]) max[field] = Math.max(max[field], now[field]);
  };
  const sampler = setInterval(sample, 50);
  const spool = spoolMemoryMb ? { memoryBytes: Number(spoolMemoryMb) * 1024 * 1024 } : undefined;
  syncer = benchSyncer(parseEndpoint(sourceAddress), parseEndpoint(targetAddress), '', spool);
  started = performance.now();
  syncer.start();
  try {
    const deadline = Date.now() + TIMEOUT_MS;
    while (syncer.counters.syncPhase !== 2) {
      if (Date.now() > deadline) throw new Error(`full sync not done after ${TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const syncMs = performance.now() - started;
    sample();
    const result = {
      syncMs,
      rdbBytes: syncer.counters.rdbBytes,
      keysSent: syncer.counters.rdbKeysSent,
      vmHwmKb: statusKb('VmHWM'),
      vmRssKb: statusKb('VmRSS'),
      maxRssKb: process.resourceUsage().maxRSS,
      baselineHwmKb,
      baseline,
      peak,
      max,
      samples,
      timeline,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    clearInterval(sampler);
    await syncer.stop();
  }
}

main().then(
  () => {
    // Exit even if a socket of the stopped syncer lingers; the result line is already written.
    setTimeout(() => process.exit(0), 2000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`rss-child: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
