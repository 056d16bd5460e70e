// gunyu-sync vs native REPLICAOF on the same machine, same run: full sync of a populated source and
// catch-up time of a live write stream; plus RDB parse throughput. Medians of 3. Bounded (< 2 min).
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type RedisProcess, startRedis, waitFor } from '@kvforge/testing';
import { DEFAULT_FILTER_OPTIONS } from '../src/core/command-filter';
import { parseRdb } from '../src/core/rdb/rdb-parser';
import { DEFAULT_REPLAY_OPTIONS } from '../src/core/replay-options';
import { Syncer } from '../src/syncer';

// Bench knobs are flags (`pnpm bench -- --keys 1000000`); only apps read the environment.
const { values: flags } = parseArgs({
  options: { keys: { type: 'string', default: '300000' }, commands: { type: 'string', default: '200000' } },
});
const KEYS = Number(flags.keys);
const VALUE_SIZE = 100;
const STREAM_COMMANDS = Number(flags.commands);
const RUNS = 3;

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function masterOffset(source: RedisProcess): Promise<number> {
  return Number(/master_repl_offset:(\d+)/.exec(await source.client().info('replication'))?.[1]);
}

function newSyncer(source: RedisProcess, target: RedisProcess): Syncer {
  return new Syncer({
    inputAddress: source.address,
    input: { host: source.host, port: source.port },
    output: { host: target.host, port: target.port },
    listeningPort: 18001,
    replay: { ...DEFAULT_REPLAY_OPTIONS, replayRdbParallel: 8 },
    filter: DEFAULT_FILTER_OPTIONS,
    syncDelayTestKey: '',
    reconnectBackoffMs: 500,
    capaEof: true,
    transaction: true,
  });
}

async function nativeFullSync(source: RedisProcess): Promise<{ ms: number; replica: RedisProcess }> {
  const replica = await startRedis();
  const started = performance.now();
  await replica.client().replicaof(source.host, String(source.port));
  await waitFor(
    async () =>
      /master_link_status:up/.test(await replica.client().info('replication')) &&
      (await replica.client().dbsize()) >= KEYS,
    {
      timeoutMs: 120_000,
      message: 'native full sync',
    },
  );
  return { ms: performance.now() - started, replica };
}

async function gunyuFullSync(
  source: RedisProcess,
): Promise<{ ms: number; target: RedisProcess; syncer: Syncer }> {
  const target = await startRedis();
  const syncer = newSyncer(source, target);
  const started = performance.now();
  syncer.start();
  await waitFor(async () => syncer.counters.syncPhase === 2 && (await target.client().dbsize()) >= KEYS, {
    timeoutMs: 120_000,
    message: 'gunyu full sync',
  });
  return { ms: performance.now() - started, target, syncer };
}

function runBenchmark(source: RedisProcess): void {
  execFileSync(
    'redis-benchmark',
    [
      '-h',
      source.host,
      '-p',
      String(source.port),
      '-t',
      'set',
      '-n',
      String(STREAM_COMMANDS),
      '-r',
      '100000',
      '-P',
      '16',
      '-c',
      '4',
      '-q',
    ],
    { stdio: 'ignore' },
  );
}

async function streamCatchUp(source: RedisProcess, applied: () => Promise<number>): Promise<number> {
  const started = performance.now();
  runBenchmark(source);
  const offset = await masterOffset(source);
  await waitFor(async () => (await applied()) >= offset, { timeoutMs: 120_000, message: 'stream catch-up' });
  return performance.now() - started;
}

async function main(): Promise<void> {
  const source = await startRedis({
    args: ['--repl-backlog-size', '256mb', '--enable-debug-command', 'yes'],
  });
  try {
    await source.client().call('DEBUG', 'POPULATE', String(KEYS), 'key', String(VALUE_SIZE));
    await source.client().save();
    const rdb = await readFile(join(source.directory, 'dump.rdb'));
    const parseTimes: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      parseRdb(rdb);
      parseTimes.push(performance.now() - started);
    }
    const native: number[] = [];
    const gunyu: number[] = [];
    const nativeStream: number[] = [];
    const gunyuStream: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const nativeRun = await nativeFullSync(source);
      native.push(nativeRun.ms);
      nativeStream.push(
        await streamCatchUp(source, async () =>
          Number(
            /slave_repl_offset:(\d+)/.exec(await nativeRun.replica.client().info('replication'))?.[1] ?? 0,
          ),
        ),
      );
      await nativeRun.replica.stop();
      const gunyuRun = await gunyuFullSync(source);
      gunyu.push(gunyuRun.ms);
      gunyuStream.push(await streamCatchUp(source, async () => gunyuRun.syncer.counters.ackOffset));
      await gunyuRun.syncer.stop();
      await gunyuRun.target.stop();
    }
    const rdbMb = rdb.length / 1024 / 1024;
    const rows = [
      {
        case: `full sync, ${KEYS} keys × ${VALUE_SIZE} B (RDB ${rdbMb.toFixed(1)} MiB)`,
        native: median(native),
        gunyu: median(gunyu),
        unit: 'ms',
      },
      {
        case: `live stream, ${STREAM_COMMANDS} SET (redis-benchmark -P 16), until caught up`,
        native: median(nativeStream),
        gunyu: median(gunyuStream),
        unit: 'ms',
      },
    ];
    const parseMbPerSecond = rdbMb / (median(parseTimes) / 1000);
    const lines = [
      '| case | native REPLICAOF | gunyu-sync | ratio (gunyu / native) |',
      '|---|---|---|---|',
      ...rows.map(
        (row) =>
          `| ${row.case} | ${row.native.toFixed(0)} ${row.unit} | ${row.gunyu.toFixed(0)} ${row.unit} | ${(row.gunyu / row.native).toFixed(2)}× |`,
      ),
      `| RDB parse (in memory, CRC verified) | — | ${parseMbPerSecond.toFixed(0)} MiB/s | — |`,
      '',
      `Medians of ${RUNS} runs on one shared 2-core machine, redis-server 7.0.15, loopback. Full-sync keys/s: native ${((KEYS / median(native)) * 1000).toFixed(0)}, gunyu ${((KEYS / median(gunyu)) * 1000).toFixed(0)}. Stream cmd/s until caught up: native ${((STREAM_COMMANDS / median(nativeStream)) * 1000).toFixed(0)}, gunyu ${((STREAM_COMMANDS / median(gunyuStream)) * 1000).toFixed(0)}.`,
    ];
    const markdown = `${lines.join('\n')}\n`;
    process.stdout.write(markdown);
    const results = {
      date: new Date().toISOString(),
      keys: KEYS,
      valueSize: VALUE_SIZE,
      streamCommands: STREAM_COMMANDS,
      runs: RUNS,
      rdbBytes: rdb.length,
      native,
      gunyu,
      nativeStream,
      gunyuStream,
      parseTimes,
      parseMbPerSecond,
    };
    const directory = new URL('./results/', import.meta.url);
    await writeFile(new URL('full-sync.json', directory), `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(new URL('full-sync.md', directory), markdown);
  } finally {
    await source.stop();
  }
}

await main();
