// Cluster → cluster bench: full sync of N keys from a 3-master source into a 3-master target vs three
// native REPLICAOF replicas of the source shards (same run, same machine), then incremental
// throughput and sync_delay under redis-benchmark --cluster. Flags: --keys N (default 1 000 000),
// --commands N (default 600 000), --pipeline/--clients of the load (8 × 6). Results: bench/results/cluster-sync.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@kvforge/common-http';
import { type RedisProcess, startRedis, startRedisCluster, waitFor } from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { gunyuConfigSchema } from '../src/config/config-schema';
import { parseClusterNodes } from '../src/core/cluster/cluster-topology';
import { slotOfKey } from '../src/core/cluster/key-slot';
import { SyncService } from '../src/sync-service';
import { distribution, recordSyncDelays, runRedisBenchmark } from './load';

const flag = (name: string, fallback: number): number => {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const KEYS = flag('keys', 1_000_000);
const COMMANDS = flag('commands', 600_000);
const PIPELINE = flag('pipeline', 8);
const CLIENTS = flag('clients', 6);
const WATCHDOG_MS = 15 * 60_000;

const offsetOf = async (client: Redis): Promise<number> =>
  Number(/master_repl_offset:(\d+)/.exec(await client.info('replication'))?.[1] ?? 0);

async function main(): Promise<void> {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const watchdog = setTimeout(() => {
    console.error('cluster bench watchdog fired');
    process.exit(2);
  }, WATCHDOG_MS);
  try {
    const [source, target] = await Promise.all([
      startRedisCluster({ extraArgs: ['--enable-debug-command', 'yes'] }),
      startRedisCluster(),
    ]);
    cleanups.push(
      () => source.stop(),
      () => target.stop(),
    );
    const replicas = await Promise.all([startRedis(), startRedis(), startRedis()]);
    cleanups.push(() => Promise.all(replicas.map((replica) => replica.stop())));
    const admin = (source.nodes[0] as RedisProcess).client();
    cleanups.push(() => admin.disconnect());
    const shards = parseClusterNodes(String(await admin.call('CLUSTER', 'NODES'))).shards;
    const masters = shards.map(
      (shard) => source.nodes.find((node) => node.address === shard.master.address) as RedisProcess,
    );
    const masterClients = masters.map((node) => node.client());
    cleanups.push(() => {
      for (const client of masterClients) client.disconnect();
    });
    // DEBUG POPULATE per master with a hash tag of that master's slots: every key is where it belongs.
    await Promise.all(
      masterClients.map(async (client, index) => {
        const slots = shards[index]?.slots ?? [];
        let tag = 0;
        while (!slots.some(([from, to]) => slotOfKey(`{t${tag}}`) >= from && slotOfKey(`{t${tag}}`) <= to))
          tag++;
        await client.call('DEBUG', 'POPULATE', String(Math.ceil(KEYS / 3)), `{t${tag}}:key`, '100');
      }),
    );
    console.log(`source: ${KEYS} keys × 100 B over 3 shards`);

    // Native: three replicas, one per source master, all at once; wall time until all are in sync.
    const replicaClients = replicas.map((replica) => replica.client());
    cleanups.push(() => {
      for (const client of replicaClients) client.disconnect();
    });
    const cpuOf = async (client: Redis): Promise<number> => {
      const info = await client.info('cpu');
      const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
      return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
    };
    const nativeCpuBefore = await Promise.all(replicaClients.map(cpuOf));
    const nativeStart = performance.now();
    await Promise.all(
      replicaClients.map((client, index) => client.replicaof(masters[index]!.host, masters[index]!.port)),
    );
    await waitFor(
      async () => {
        for (const client of replicaClients) {
          const info = await client.info('replication');
          if (!/master_link_status:up/.test(info) || /master_sync_in_progress:1/.test(info)) return false;
        }
        return true;
      },
      { timeoutMs: 600_000, intervalMs: 20, message: 'native replicas' },
    );
    const nativeMs = performance.now() - nativeStart;
    const nativeCpuAfter = await Promise.all(replicaClients.map(cpuOf));
    // CPU of the three replicas (they run in parallel, one process each).
    const nativeCpuMs = nativeCpuAfter.reduce(
      (sum, after, index) => sum + after - (nativeCpuBefore[index] ?? 0),
      0,
    );
    console.log(`native REPLICAOF ×3: ${nativeMs.toFixed(0)} ms (CPU ${nativeCpuMs.toFixed(0)} ms)`);

    const config = loadConfig(gunyuConfigSchema, [
      {
        server: { listen: '127.0.0.1:0' },
        input: {
          redis: { type: 'cluster', addresses: [source.addresses[0] as string] },
          syncDelayTestKey: 'gunyu-probe',
        },
        output: { redis: { type: 'cluster', addresses: [target.addresses[0] as string] } },
      },
    ]);
    const service = new SyncService(config);
    cleanups.push(() => service.stop());
    const gunyuStart = performance.now();
    const cpuStart = process.cpuUsage();
    service.start();
    await service.ready();
    await waitFor(() => service.syncers.every((syncer) => syncer.counters.syncPhase === 2), {
      timeoutMs: 600_000,
      intervalMs: 20,
      message: 'gunyu full sync',
    });
    const gunyuMs = performance.now() - gunyuStart;
    const cpu = process.cpuUsage(cpuStart);
    // CPU of the syncer process (the three syncers share it): less noisy than wall time on a busy box.
    const gunyuCpuMs = (cpu.user + cpu.system) / 1000;
    console.log(`gunyu-sync cluster → cluster: ${gunyuMs.toFixed(0)} ms (CPU ${gunyuCpuMs.toFixed(0)} ms)`);

    // Incremental: redis-benchmark --cluster SETs across the shards; received → applied.
    const recorders = service.syncers.map((syncer) => recordSyncDelays(syncer.counters));
    for (const recorder of recorders) recorder.recording = true;
    const probeClients = service.syncers.map(
      (syncer) =>
        masterClients[masters.findIndex((node) => node.port === syncer.options.probeEndpoint?.port)] as Redis,
    );
    const probe = setInterval(() => {
      service.syncers.forEach((syncer, index) => {
        probeClients[index]
          ?.set(syncer.options.syncDelayTestKey, `bench_${BigInt(Date.now()) * 1_000_000n}`)
          .catch(() => {});
      });
    }, 10);
    const loadStart = performance.now();
    const run = await runRedisBenchmark(
      masters[0]!.host,
      masters[0]!.port,
      [
        '--cluster',
        '-t',
        'set',
        '-n',
        String(COMMANDS),
        '-r',
        '1000000',
        '-P',
        String(PIPELINE),
        '-c',
        String(CLIENTS),
        '-d',
        '100',
      ],
      300_000,
      5,
    );
    const loadMs = performance.now() - loadStart;
    const offsets = await Promise.all(masterClients.map(offsetOf));
    await waitFor(
      () =>
        service.syncers.every((syncer) => {
          const index = masters.findIndex((node) => node.port === syncer.options.probeEndpoint?.port);
          return syncer.counters.ackOffset >= (offsets[index] ?? 0);
        }),
      { timeoutMs: 300_000, intervalMs: 5, message: 'gunyu caught up' },
    );
    const appliedMs = performance.now() - loadStart;
    clearInterval(probe);
    const delays = distribution(recorders.flatMap((recorder) => recorder.samples));
    const sourceRate = (COMMANDS / loadMs) * 1000;
    const appliedRate = (COMMANDS / appliedMs) * 1000;
    const rows = [
      [
        'full sync, wall time',
        `${nativeMs.toFixed(0)} ms (replicas' CPU ${nativeCpuMs.toFixed(0)} ms)`,
        `${gunyuMs.toFixed(0)} ms (syncer CPU ${gunyuCpuMs.toFixed(0)} ms)`,
        `${(gunyuMs / nativeMs).toFixed(2)}× (goal ≤ 1.5×)`,
      ],
      [
        'incremental SET/s across shards: source received → applied',
        `${sourceRate.toFixed(0)}`,
        `${appliedRate.toFixed(0)}`,
        `${(appliedRate / sourceRate).toFixed(2)}`,
      ],
      [
        'sync_delay p50 / p99 / max',
        '—',
        `${delays.p50.toFixed(0)} / ${delays.p99.toFixed(0)} / ${delays.max.toFixed(0)} ms (${delays.count} probes)`,
        'goal p99 < 50 ms',
      ],
    ];
    const table = [
      `| case (cluster → cluster, ${KEYS} keys, 3 shards) | native REPLICAOF ×3 | gunyu-sync | ratio / goal |`,
      '|---|---|---|---|',
      ...rows.map((row) => `| ${row.join(' | ')} |`),
    ].join('\n');
    console.log(table);
    console.log(`redis-benchmark: ${run.summary.trim()}${run.killed ? ' (killed by timeout)' : ''}`);
    const directory = join(import.meta.dirname, 'results');
    mkdirSync(directory, { recursive: true });
    writeFileSync(
      join(directory, 'cluster-sync.json'),
      JSON.stringify(
        {
          keys: KEYS,
          commands: COMMANDS,
          nativeMs,
          nativeCpuMs,
          gunyuMs,
          gunyuCpuMs,
          sourceRate,
          appliedRate,
          delays,
        },
        null,
        2,
      ),
    );
    writeFileSync(join(directory, 'cluster-sync.md'), `${table}\n`);
  } finally {
    clearTimeout(watchdog);
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
