// gunyu-sync vs native REPLICAOF on the same machine, in one run:
// 1. full sync of 1 000 000 small keys (one run each; ratio of wall times, goal gunyu ≤ 2× native);
// 2. incremental sync under sustained redis-benchmark loads (-c 4 -P 4/8/16, niced; applied cmd/s,
//    goal ≥ 50 000) with the p50/p99 of the syncer's sync_delay (probe every 10 ms, goal p99 < 50 ms),
//    plus the delay until a probe is applied on the target / native replica, and the max-throughput
//    (-P 16) catch-up;
// 3. peak RSS of a syncer (in a child process) during the full sync of one 1 000 000-member zset
//    (goal < 200 MB);
// 4. RDB parse throughput in memory, in a fresh child process (median of 3, goal ≥ 100 MiB/s): parseRdb
//    of the whole file, and RdbParser.push in 64 KiB chunks as the syncer does.
// Bounded: every wait has a timeout and a watchdog ends the run after 5.5 minutes.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type RedisProcess, startRedis, waitFor } from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { build } from 'tsup';
import type { Syncer } from '../src/syncer';
import { benchSyncer } from './bench-syncer';
import {
  DelayProbe,
  type Distribution,
  distribution,
  killBenchmarks,
  ResourceMeter,
  type ResourceUsage,
  recordSyncDelays,
  runRedisBenchmark,
  type SyncDelayRecorder,
} from './load';

// Bench knobs are flags (`pnpm bench --keys 1000000`; pnpm 10 passes a `--` through, ignored here);
// only apps read the environment.
const { values: flags } = parseArgs({
  args: process.argv.slice(2).filter((argument) => argument !== '--'),
  options: {
    keys: { type: 'string', default: '1000000' },
    commands: { type: 'string', default: '200000' },
    'load-commands': { type: 'string', default: '600000' },
    // redis-benchmark -c × -P of each load level (it has no rate limit; the rate the source received is reported).
    load: { type: 'string', default: '4x4,4x8,4x16' },
    // Niceness of the load generator: on 2 shared cores it would otherwise take the CPU the source,
    // target and syncer need (clients run elsewhere in production). 0 = same priority.
    'load-nice': { type: 'string', default: '10' },
    'zset-members': { type: 'string', default: '1000000' },
    // One list of this many MB (100-byte elements): above maxBufferedValueBytes, it streams as parts.
    'big-list-mb': { type: 'string', default: '256' },
  },
});
const KEYS = Number(flags.keys);
const VALUE_SIZE = 100;
const STREAM_COMMANDS = Number(flags.commands);
const LOAD_COMMANDS = Number(flags['load-commands']);
const LOAD_LEVELS = (flags.load as string).split(',').map((level) => {
  const [clients, pipeline] = level.split('x').map(Number);
  if (!(clients && pipeline))
    throw new Error(`--load ${flags.load}: expected e.g. 4x2,4x4 (clients x pipeline)`);
  return { clients, pipeline, args: ['-c', String(clients), '-P', String(pipeline)] };
});
type LoadLevel = (typeof LOAD_LEVELS)[number];
const ZSET_MEMBERS = Number(flags['zset-members']);
const BIG_LIST_ELEMENTS = Math.round((Number(flags['big-list-mb']) * 1e6) / 100);
const LOAD_NICE = Number(flags['load-nice']);
const PARSE_RUNS = 3;
const PROBE_INTERVAL_MS = 10;
const SYNC_DELAY_KEY = 'gunyu-bench:sync-delay';
const E2E_KEY = 'gunyu-bench:applied';
const ZSET_KEY = 'gunyu-bench:zset';
const LIST_KEY = 'gunyu-bench:list';
/** channel.memory.maxSize of the big-list syncer: the RDB arrives faster than it replays, the rest spills. */
const LIST_SPOOL_MEMORY_MB = 32;
const WATCHDOG_MS = 420_000;
const PACKAGE_DIRECTORY = fileURLToPath(new URL('..', import.meta.url));

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const cleanups: (() => Promise<void> | void)[] = [];
/** Registers a cleanup (run in reverse order in `finally`, errors ignored). */
function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

const adminClients = new WeakMap<RedisProcess, Redis>();
/** One ioredis connection per server for polling (server.client() opens a new one each call). */
function admin(server: RedisProcess): Redis {
  let client = adminClients.get(server);
  if (!client) {
    client = server.client();
    adminClients.set(server, client);
  }
  return client;
}

async function info(server: RedisProcess, section: string): Promise<string> {
  return admin(server).info(section);
}

function infoNumber(text: string, field: string): number {
  return Number(new RegExp(`${field}:(\\d+)`).exec(text)?.[1] ?? 0);
}

async function masterOffset(source: RedisProcess): Promise<number> {
  return infoNumber(await info(source, 'replication'), 'master_repl_offset');
}

async function replicaOffset(replica: RedisProcess): Promise<number> {
  return infoNumber(await info(replica, 'replication'), 'slave_repl_offset');
}

/** SET calls the server executed (on a replica these are the replicated ones). */
async function setCalls(server: RedisProcess): Promise<number> {
  return Number(/cmdstat_set:calls=(\d+)/.exec(await info(server, 'commandstats'))?.[1] ?? 0);
}

async function startServer(args: string[] = []): Promise<RedisProcess> {
  const server = await startRedis({ args });
  onCleanup(() => server.stop());
  return server;
}

async function nativeFullSync(
  source: RedisProcess,
  synced: (replica: RedisProcess) => Promise<boolean>,
): Promise<{ ms: number; replica: RedisProcess }> {
  const replica = await startServer();
  const started = performance.now();
  await admin(replica).replicaof(source.host, String(source.port));
  await waitFor(
    async () => /master_link_status:up/.test(await info(replica, 'replication')) && (await synced(replica)),
    { timeoutMs: 120_000, intervalMs: 10, message: 'native full sync' },
  );
  return { ms: performance.now() - started, replica };
}

async function gunyuFullSync(
  source: RedisProcess,
): Promise<{ ms: number; target: RedisProcess; syncer: Syncer; delays: SyncDelayRecorder }> {
  const target = await startServer();
  const syncer = benchSyncer(source, target, SYNC_DELAY_KEY);
  const delays = recordSyncDelays(syncer.counters);
  onCleanup(() => syncer.stop());
  const started = performance.now();
  syncer.start();
  await waitFor(async () => syncer.counters.syncPhase === 2 && (await admin(target).dbsize()) >= KEYS, {
    timeoutMs: 120_000,
    intervalMs: 10,
    message: 'gunyu full sync',
  });
  return { ms: performance.now() - started, target, syncer, delays };
}

/** Max-throughput stream (-P 16) and the time until the replica has applied all of it. */
async function streamCatchUp(source: RedisProcess, applied: () => Promise<number>): Promise<number> {
  const started = performance.now();
  await runRedisBenchmark(
    source.host,
    source.port,
    ['-t', 'set', '-n', String(STREAM_COMMANDS), '-r', '100000', '-P', '16', '-c', '4'],
    60_000,
  );
  const offset = await masterOffset(source);
  await waitFor(async () => (await applied()) >= offset, {
    timeoutMs: 120_000,
    intervalMs: 5,
    message: 'stream catch-up',
  });
  return performance.now() - started;
}

interface LoadResult {
  /** redis-benchmark -c … -P … */
  level: string;
  resources: ResourceUsage;
  /** SET/s the source executed while redis-benchmark ran. */
  sourceRate: number;
  /** Commands/s the replica (native: replicated SETs; gunyu: counters.successCommands) applied. */
  appliedRate: number;
  windowMs: number;
  benchmarkSummary: string;
  /** Replication bytes not yet applied when the load stopped. */
  lagBytesAtEnd: number;
  /** Time after the load stopped until everything was applied. */
  catchUpMs: number;
  /** Probe writes → applied on the target / replica (keyspace notification), ms. */
  applied: Distribution;
  probesSent: number;
  probesFailed: number;
  /** gunyu only: every sync_delay the syncer computed (its own 1 s probe and ours), ms. */
  syncDelay?: Distribution;
  /** gunyu only: [ms since the load started, sync_delay ms] of the samples above 10 ms. */
  slowSyncDelays?: [number, number][];
}

/** Sustained redis-benchmark load on the source while the probe runs; one replica attached. */
async function loadUnderProbe(
  level: LoadLevel,
  source: RedisProcess,
  replica: RedisProcess,
  applied: { commands: () => Promise<number>; offset: () => Promise<number> },
  delays?: SyncDelayRecorder,
): Promise<LoadResult> {
  const probe = new DelayProbe(
    source.client(),
    replica.client(),
    { syncKey: SYNC_DELAY_KEY, inputAddress: source.address, e2eKey: E2E_KEY },
    PROBE_INTERVAL_MS,
  );
  onCleanup(() => probe.close());
  await probe.start();
  const meter = new ResourceMeter(admin(source), admin(replica));
  if (delays) {
    delays.samples.length = 0;
    delays.times.length = 0;
    delays.recording = true;
  }
  try {
    const setCalls0 = await setCalls(source);
    const applied0 = await applied.commands();
    await meter.start();
    const started = performance.now();
    const run = await runRedisBenchmark(
      source.host,
      source.port,
      ['-t', 'set', '-n', String(LOAD_COMMANDS), '-r', '100000', ...level.args],
      90_000,
      LOAD_NICE,
    );
    const ended = performance.now();
    const resources = await meter.stop();
    const [setCalls1, applied1, offsetAtEnd, appliedOffsetAtEnd] = await Promise.all([
      setCalls(source),
      applied.commands(),
      masterOffset(source),
      applied.offset(),
    ]);
    probe.stop();
    const finalOffset = await masterOffset(source);
    await waitFor(async () => (await applied.offset()) >= finalOffset, {
      timeoutMs: 120_000,
      intervalMs: 5,
      message: 'catch-up after the load',
    });
    const catchUpMs = performance.now() - ended;
    await probe.settle(10_000);
    const windowMs = ended - started;
    return {
      level: level.args.join(' '),
      resources,
      sourceRate: ((setCalls1 - setCalls0) / windowMs) * 1000,
      appliedRate: ((applied1 - applied0) / windowMs) * 1000,
      windowMs,
      benchmarkSummary: run.summary,
      lagBytesAtEnd: Math.max(0, offsetAtEnd - appliedOffsetAtEnd),
      catchUpMs,
      applied: distribution(probe.appliedDelaysMs()),
      probesSent: probe.sent,
      probesFailed: probe.failed + (probe.sent - probe.applied),
      ...(delays
        ? {
            syncDelay: distribution(delays.samples),
            slowSyncDelays: delays.samples.flatMap((delay, i): [number, number][] =>
              delay > 10 ? [[Math.round((delays.times[i] as number) - started), delay]] : [],
            ),
          }
        : {}),
    };
  } finally {
    probe.close();
    if (delays) delays.recording = false;
  }
}

interface BigValueResult {
  /** Members of the zset / elements of the list. */
  members: number;
  rdbBytes: number;
  nativeMs: number;
  gunyuMs: number;
  gunyuWallMs: number;
  targetCard: number;
  /** Peak RSS of the child (its own VmHWM at the end), bytes. */
  peakRssBytes: number;
  /** Highest VmHWM this process read from /proc/<child>/status (sampled every 50 ms), bytes. */
  parentSampledHwmBytes: number;
  child: {
    syncMs: number;
    vmHwmKb: number;
    maxRssKb: number;
    baselineHwmKb: number;
    baseline: Record<string, number>;
    peak: Record<string, number>;
    max: Record<string, number>;
    samples: number;
    timeline: number[][];
  };
}

/** Builds one zset of `members` members with pipelined ZADDs of 1000. */
async function buildZset(source: RedisProcess, members: number): Promise<void> {
  const client = admin(source);
  const batch = 1000;
  for (let first = 0; first < members; first += batch * 50) {
    const pipeline = client.pipeline();
    for (let start = first; start < Math.min(members, first + batch * 50); start += batch) {
      const args: (string | number)[] = [];
      for (let i = start; i < Math.min(members, start + batch); i++) args.push(i, `member:${i}`);
      pipeline.zadd(ZSET_KEY, ...args);
    }
    await pipeline.exec();
  }
  const card = await client.zcard(ZSET_KEY);
  if (card !== members) throw new Error(`zset has ${card} members, expected ${members}`);
}

/** Builds one list of `elements` 100-byte elements (hex of random bytes, so LZF cannot shrink the RDB much). */
async function buildList(source: RedisProcess, elements: number): Promise<void> {
  const client = admin(source);
  const random = randomBytes(1 << 20).toString('hex');
  const element = (i: number): string => random.substr((i * 7919) % (random.length - 100), 100);
  for (let first = 0; first < elements; first += 50_000) {
    const pipeline = client.pipeline();
    for (let start = first; start < Math.min(elements, first + 50_000); start += 1000) {
      const batch: string[] = [];
      for (let i = start; i < Math.min(elements, start + 1000); i++) batch.push(element(i));
      pipeline.rpush(LIST_KEY, ...batch);
    }
    await pipeline.exec();
  }
  const length = await client.llen(LIST_KEY);
  if (length !== elements) throw new Error(`list has ${length} elements, expected ${elements}`);
}

function procStatusKb(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'latin1'),
    );
    return Number(match?.[1] ?? 0);
  } catch {
    return 0; // the child already exited
  }
}

const children = new Set<ChildProcess>();

/** `node …nodeArgs` in the package directory, killed on cleanup (and by the watchdog). */
function spawnNode(nodeArgs: string[]): ChildProcess {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: PACKAGE_DIRECTORY,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** `node --conditions=@kvforge/source --import tsx <script> …args`. */
function spawnTsChild(script: string, args: string[]): ChildProcess {
  const path = fileURLToPath(new URL(script, import.meta.url));
  return spawnNode(['--conditions=@kvforge/source', '--import', 'tsx', path, ...args]);
}

let rssChildPath: string | undefined;

/**
 * rss-child.ts and the syncer code it uses, bundled once with tsup (as the app binary is), so the RSS
 * measured is a plain `node` process's: no tsx loader thread (~36 MB) on top.
 */
async function rssChildBundle(): Promise<string> {
  if (rssChildPath) return rssChildPath;
  const outDir = join(PACKAGE_DIRECTORY, 'node_modules', '.cache', 'gunyu-bench');
  await build({
    entry: { 'rss-child': fileURLToPath(new URL('./rss-child.ts', import.meta.url)) },
    outDir,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    silent: true,
  });
  rssChildPath = join(outDir, 'rss-child.js');
  return rssChildPath;
}

/** Collects a child's output; resolves with its first JSON line once it exited with 0. */
async function childResult<T>(child: ChildProcess, name: string): Promise<T> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-8192);
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 150_000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    const line = stdout.split('\n').find((candidate) => candidate.startsWith('{'));
    if (code !== 0 || !line) throw new Error(`${name} exited with ${code}: ${stderr.trim()}`);
    return JSON.parse(line) as T;
  } finally {
    clearTimeout(timeout);
  }
}

/** Runs rss-child.ts against source → target; resolves with its JSON line. */
async function runChildSync(
  source: RedisProcess,
  target: RedisProcess,
  spoolMemoryMb: number | undefined,
): Promise<{ result: BigValueResult['child']; wallMs: number; sampledHwmKb: number }> {
  const started = performance.now();
  const spoolArgs = spoolMemoryMb === undefined ? [] : [String(spoolMemoryMb)];
  const child = spawnNode([await rssChildBundle(), source.address, target.address, ...spoolArgs]);
  let sampledHwmKb = 0;
  const pid = child.pid as number;
  const sampler = setInterval(() => {
    sampledHwmKb = Math.max(sampledHwmKb, procStatusKb(pid, 'VmHWM'));
  }, 50);
  try {
    const result = await childResult<BigValueResult['child']>(child, 'rss-child');
    return { result, wallMs: performance.now() - started, sampledHwmKb };
  } finally {
    clearInterval(sampler);
  }
}

/** One big value (built by `build`, counted by `count`) synced natively and by gunyu in a child process. */
async function bigValueSync(
  name: string,
  members: number,
  build: (source: RedisProcess) => Promise<void>,
  count: (server: RedisProcess) => Promise<number>,
  spoolMemoryMb?: number,
): Promise<BigValueResult> {
  const source = await startServer(['--enable-debug-command', 'yes']);
  log(`${name}: building ${members} members`);
  await build(source);
  await admin(source).save();
  const rdbBytes = (await stat(join(source.directory, 'dump.rdb'))).size;
  log(`${name}: native REPLICAOF`);
  const native = await nativeFullSync(source, async (replica) => (await count(replica)) === members);
  await native.replica.stop();
  log(`${name}: gunyu-sync in a child process`);
  const target = await startServer();
  const child = await runChildSync(source, target, spoolMemoryMb);
  const targetCard = await count(target);
  if (targetCard !== members) throw new Error(`target ${name} has ${targetCard} members`);
  await target.stop();
  await source.stop();
  return {
    members,
    rdbBytes,
    nativeMs: native.ms,
    gunyuMs: child.result.syncMs,
    gunyuWallMs: child.wallMs,
    targetCard,
    peakRssBytes: child.result.vmHwmKb * 1024,
    parentSampledHwmBytes: child.sampledHwmKb * 1024,
    child: child.result,
  };
}

const mb = (bytes: number): string => (bytes / 1e6).toFixed(0);
const ms = (value: number): string => `${value.toFixed(0)} ms`;
const rate = (value: number): string => `${Math.round(value).toLocaleString('en-US')}`;
const delayText = (d: Distribution): string =>
  `${d.p50.toFixed(1)} / ${d.p99.toFixed(1)} / ${d.max.toFixed(1)} ms (${(d.over50 * 100).toFixed(1)} % > 50 ms)`;
const verdict = (met: boolean): string => (met ? 'met' : '**missed**');

/** The commit measured, and whether src/ had uncommitted changes (another engineer's work in progress). */
function sourceTree(): string {
  try {
    const options = { cwd: PACKAGE_DIRECTORY, encoding: 'utf8' } as const;
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], options).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], options).trim() !== '';
    return dirty ? `${commit} + uncommitted src/ changes` : commit;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const tree = sourceTree();
  const loadAverageAtStart = loadavg()[0] as number;
  const source = await startServer(['--repl-backlog-size', '256mb', '--enable-debug-command', 'yes']);
  const version = /redis_version:([\d.]+)/.exec(await info(source, 'server'))?.[1] ?? '?';
  log(`populating ${KEYS} keys`);
  await admin(source).call('DEBUG', 'POPULATE', String(KEYS), 'key', String(VALUE_SIZE));
  await admin(source).save();
  const rdbPath = join(source.directory, 'dump.rdb');
  const rdbBytes = (await stat(rdbPath)).size;
  // RDB parse throughput in a fresh process (median of 3), before anything else runs.
  log('RDB parse');
  const parse = await childResult<{ bytes: number; events: number; times: number[]; streamTimes: number[] }>(
    spawnTsChild('./parse-child.ts', [rdbPath, String(PARSE_RUNS)]),
    'parse-child',
  );
  const parseTimes = parse.times;
  const rdbMb = rdbBytes / 1024 / 1024;
  const parseMbPerSecond = rdbMb / (median(parseTimes) / 1000);
  const streamParseMbPerSecond = rdbMb / (median(parse.streamTimes) / 1000);

  // 1. Full sync, one run each, of the same 1M-key dataset (the native replica leaves before gunyu starts).
  log('native full sync');
  const native = await nativeFullSync(source, async (replica) => (await admin(replica).dbsize()) >= KEYS);
  await native.replica.stop();
  log(`native full sync ${ms(native.ms)}; gunyu full sync`);
  const gunyu = await gunyuFullSync(source);
  log(`gunyu full sync ${ms(gunyu.ms)}`);

  // 2. Incremental: gunyu first (it is attached), then a fresh native replica.
  const gunyuApplied = {
    commands: async () => gunyu.syncer.counters.successCommands,
    offset: async () => gunyu.syncer.counters.ackOffset,
  };
  log('gunyu -P 16 catch-up');
  const gunyuStream = await streamCatchUp(source, gunyuApplied.offset);
  const gunyuLoads: LoadResult[] = [];
  for (const level of LOAD_LEVELS) {
    log(`gunyu under load (${level.args.join(' ')})`);
    gunyuLoads.push(await loadUnderProbe(level, source, gunyu.target, gunyuApplied, gunyu.delays));
  }
  await gunyu.syncer.stop();
  await gunyu.target.stop();
  log('native replica for the incremental cases');
  const { replica } = await nativeFullSync(
    source,
    async (candidate) => (await replicaOffset(candidate)) >= (await masterOffset(source)),
  );
  const nativeApplied = { commands: () => setCalls(replica), offset: () => replicaOffset(replica) };
  log('native -P 16 catch-up');
  const nativeStream = await streamCatchUp(source, nativeApplied.offset);
  const nativeLoads: LoadResult[] = [];
  for (const level of LOAD_LEVELS) {
    log(`native under load (${level.args.join(' ')})`);
    nativeLoads.push(await loadUnderProbe(level, source, replica, nativeApplied));
  }
  await replica.stop();
  await source.stop();

  // 3. RSS during a 1M-member zset sync (one RESTORE) and a big list (streamed as command parts).
  const zset = await bigValueSync(
    'zset',
    ZSET_MEMBERS,
    (server) => buildZset(server, ZSET_MEMBERS),
    (server) => admin(server).zcard(ZSET_KEY),
  );
  const list = await bigValueSync(
    'list',
    BIG_LIST_ELEMENTS,
    (server) => buildList(server, BIG_LIST_ELEMENTS),
    (server) => admin(server).llen(LIST_KEY),
    LIST_SPOOL_MEMORY_MB,
  );

  const fullRatio = gunyu.ms / native.ms;
  const peak = zset.child.peak;
  const loadRows = LOAD_LEVELS.flatMap((level, i) => {
    const g = gunyuLoads[i] as LoadResult;
    const n = nativeLoads[i] as LoadResult;
    const syncDelay = g.syncDelay as Distribution;
    const name = `load \`-c ${level.clients} -P ${level.pipeline}\``;
    const goal =
      g.sourceRate < 50_000
        ? `goal ≥ 50 000: n/a (the load reached only ${rate(g.sourceRate)})`
        : `goal ≥ 50 000: ${verdict(g.appliedRate >= 50_000)}`;
    return [
      `| ${name}: SET/s the source received → cmd/s applied | ${rate(n.sourceRate)} → ${rate(n.appliedRate)} | ${rate(g.sourceRate)} → ${rate(g.appliedRate)} | ${goal} |`,
      `| ${name}: sync_delay p50 / p99 / max (syncer counter, ${syncDelay.count} samples) | — | ${delayText(syncDelay)} | goal p99 < 50 ms: ${verdict(syncDelay.p99 < 50)} |`,
      `| ${name}: probe SET → applied on target/replica, p50 / p99 / max | ${delayText(n.applied)} | ${delayText(g.applied)} | p99 ${(g.applied.p99 / n.applied.p99).toFixed(1)}× |`,
    ];
  });
  const loadNotes = LOAD_LEVELS.flatMap((level, i) => {
    const g = gunyuLoads[i] as LoadResult;
    const n = nativeLoads[i] as LoadResult;
    const cpu = (r: ResourceUsage, replica: string): string =>
      `bench process ${r.benchProcessCpu.toFixed(0)} %, source ${r.sourceCpu.toFixed(0)} %, ${replica} ${r.replicaCpu.toFixed(0)} %, whole machine ${r.machineCpu.toFixed(0)} % of 200 %`;
    return [
      `- Load \`-c ${level.clients} -P ${level.pipeline}\`: window gunyu ${ms(g.windowMs)}, native ${ms(n.windowMs)}; lag when the load stopped → caught up: gunyu ${(g.lagBytesAtEnd / 1e6).toFixed(1)} MB → ${ms(g.catchUpMs)}, native ${(n.lagBytesAtEnd / 1e6).toFixed(1)} MB → ${ms(n.catchUpMs)}. CPU (gunyu run): ${cpu(g.resources, 'target')}; bench-process GC pauses ${g.resources.gcPauseMs.toFixed(0)} ms (max ${g.resources.gcMaxPauseMs.toFixed(0)} ms, ${g.resources.majorGcs} major). CPU (native run): ${cpu(n.resources, 'replica')}. Probes sent ${g.probesSent} / ${n.probesSent} (lost or unmatched ${g.probesFailed} / ${n.probesFailed}).`,
    ];
  });
  const lines = [
    '| case | native REPLICAOF | gunyu-sync | ratio / goal |',
    '|---|---|---|---|',
    `| full sync, ${KEYS} keys × ${VALUE_SIZE} B (RDB ${rdbMb.toFixed(1)} MiB), wall time | ${ms(native.ms)} | ${ms(gunyu.ms)} | ${fullRatio.toFixed(2)}× (goal ≤ 2×: ${verdict(fullRatio <= 2)}) |`,
    `| RDB parse in memory, \`parseRdb\` (whole file, keeps all ${parse.events} events; CRC verified; median of ${PARSE_RUNS}) | — | ${parseMbPerSecond.toFixed(0)} MiB/s | goal ≥ 100: ${verdict(parseMbPerSecond >= 100)} |`,
    `| RDB parse in memory, \`RdbParser.push\` in 64 KiB chunks, events dropped (the syncer's path; CRC verified; median of ${PARSE_RUNS}) | — | ${streamParseMbPerSecond.toFixed(0)} MiB/s | goal ≥ 100: ${verdict(streamParseMbPerSecond >= 100)} |`,
    ...loadRows,
    `| max-throughput stream: ${STREAM_COMMANDS} SET (\`-P 16 -c 4\`), until applied | ${ms(nativeStream)} | ${ms(gunyuStream)} | ${(gunyuStream / nativeStream).toFixed(2)}× |`,
    `| zset of ${zset.members} members (RDB ${(zset.rdbBytes / 1024 / 1024).toFixed(1)} MiB): full sync time | ${ms(zset.nativeMs)} | ${ms(zset.gunyuMs)} | ${(zset.gunyuMs / zset.nativeMs).toFixed(2)}× |`,
    `| zset sync: peak RSS of the syncer process (VmHWM) | — | ${mb(zset.peakRssBytes)} MB (${mb(zset.peakRssBytes - zset.child.baselineHwmKb * 1024)} MB above its start) | goal < 200 MB: ${verdict(zset.peakRssBytes < 200e6)} |`,
    `| list of ${list.members} × 100 B (${mb(list.members * 100)} MB, RDB ${(list.rdbBytes / 1024 / 1024).toFixed(1)} MiB, streamed as RPUSH parts; spool memory ${LIST_SPOOL_MEMORY_MB} MiB, the rest spills to disk): full sync time | ${ms(list.nativeMs)} | ${ms(list.gunyuMs)} | ${(list.gunyuMs / list.nativeMs).toFixed(2)}× |`,
    `| big list sync: peak RSS of the syncer process (VmHWM) | — | ${mb(list.peakRssBytes)} MB (${mb(list.peakRssBytes - list.child.baselineHwmKb * 1024)} MB above its start) | bounded: the value is ${mb(list.members * 100)} MB |`,
    '',
    `One run of each case (RDB parse: median of ${PARSE_RUNS}) on one shared, noisy 2-core machine (load generator, source, target and syncer all on it); redis-server ${version}, loopback; ${new Date().toISOString()}; gunyu-sync at ${tree}; 1-minute load average ${loadAverageAtStart.toFixed(1)} at the start, ${(loadavg()[0] as number).toFixed(1)} at the end. gunyu-sync runs in the bench process (replayRdbParallel 8, transaction mode), except for the zset and list cases, where it runs alone in a child process (\`bench/rss-child.ts\` bundled with tsup and run by plain \`node\`, as the app binary is).`,
    '',
    `- Full sync keys/s: native ${rate((KEYS / native.ms) * 1000)}, gunyu ${rate((KEYS / gunyu.ms) * 1000)}.`,
    `- Load: \`redis-benchmark -t set -r 100000 -n ${LOAD_COMMANDS} -c … -P …\` run with \`nice -n ${LOAD_NICE}\` (no rate limit: each run gets what the shared CPUs give it), probe SETs every ${PROBE_INTERVAL_MS} ms from this process. Applied: gunyu \`counters.successCommands\`, native the replica's replicated SET calls. sync_delay is the syncer's own metric: stamped (Date.now, ms resolution) when the probe SET is sent to the source, measured when the replayer routes it (before it is sent to the target); it includes the syncer's own 1 s probe. "applied" stamps the same moment and stops when the target/replica executes the SET (keyspace notification to this process).`,
    ...loadNotes,
    `- zset child: sync ${ms(zset.gunyuMs)} (wall incl. node start ${ms(zset.gunyuWallMs)}); target ZCARD ${zset.targetCard}. RSS before the sync ${mb(zset.child.baseline.rss as number)} MB (node + modules); at the highest 50 ms sample: rss ${mb(peak.rss as number)} MB = heapUsed ${mb(peak.heapUsed as number)} / heapTotal ${mb(peak.heapTotal as number)} MB, external ${mb(peak.external as number)} MB (arrayBuffers ${mb(peak.arrayBuffers as number)} MB); max of each over the run: heapUsed ${mb(zset.child.max.heapUsed as number)} MB, external ${mb(zset.child.max.external as number)} MB, arrayBuffers ${mb(zset.child.max.arrayBuffers as number)} MB. VmHWM sampled from outside every 50 ms: ${mb(zset.parentSampledHwmBytes)} MB.`,
  ];
  const markdown = `${lines.join('\n')}\n`;
  const results = {
    date: new Date().toISOString(),
    machine: '2 cores, shared',
    sourceTree: tree,
    loadAverage: { start: loadAverageAtStart, end: loadavg()[0] },
    redisVersion: version,
    runs: 1,
    keys: KEYS,
    valueSize: VALUE_SIZE,
    rdbBytes,
    fullSync: { nativeMs: native.ms, gunyuMs: gunyu.ms, ratio: fullRatio },
    parse: {
      events: parse.events,
      parseRdb: { times: parseTimes, mibPerSecond: parseMbPerSecond },
      streaming: { chunkBytes: 65536, times: parse.streamTimes, mibPerSecond: streamParseMbPerSecond },
    },
    stream: { commands: STREAM_COMMANDS, nativeMs: nativeStream, gunyuMs: gunyuStream },
    load: { commands: LOAD_COMMANDS, nice: LOAD_NICE, native: nativeLoads, gunyu: gunyuLoads },
    zset,
    list,
  };
  const directory = new URL('./results/', import.meta.url);
  await writeFile(new URL('full-sync.json', directory), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(new URL('full-sync.md', directory), markdown);
  process.stdout.write(`\n${markdown}`);
}

/** Runs the registered cleanups once (reverse order, errors ignored). */
async function cleanUp(): Promise<void> {
  killBenchmarks();
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // already stopped
    }
  }
}

const watchdog = setTimeout(() => {
  log(`watchdog: still running after ${WATCHDOG_MS / 1000} s, stopping`);
  for (const child of children) child.kill('SIGKILL');
  // Stop the servers (and remove their directories) if that is quick; exit regardless.
  // @kvforge/testing SIGKILLs any redis-server still running when the process exits.
  setTimeout(() => process.exit(1), 10_000).unref();
  cleanUp().finally(() => process.exit(1));
}, WATCHDOG_MS);
watchdog.unref();
try {
  await main();
} catch (error) {
  process.exitCode = 1;
  log(`failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  await cleanUp();
  clearTimeout(watchdog);
}
