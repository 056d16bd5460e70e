// A big set (default 1 M members) migrates through a live proxy while a GET probe on other keys runs
// back to back: chunked (the default mover) against one whole MIGRATE (big-key chunking off), same run.
// Run: pnpm -F @kvforge/kvstore exec tsx --conditions=@kvforge/source bench/big-key-bench.ts [members]
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startRedis } from '@kvforge/testing';
import { BucketMigrator } from '../src/config-server/bucket-migrator';
import { murmurHash2 } from '../src/core/murmur-hash2';
import { startKvstoreCluster } from '../test/kvstore-fixture';

const MEMBERS = Number(process.argv[2] ?? 1_000_000);

async function measure(bigKeyBytes: number): Promise<string> {
  const [cluster, added] = await Promise.all([startKvstoreCluster({ backends: 2 }), startRedis()]);
  try {
    const bigKey = 'big:set';
    const bytes = Buffer.from(bigKey);
    const bucket = murmurHash2(bytes, 0, bytes.length) % 256;
    const owner = cluster.proxy.currentTable!.owners[bucket];
    const raw = cluster.redis.find((server) => server.address === owner)!.client();
    const pipeline = raw.pipeline();
    for (let offset = 0; offset < MEMBERS; offset += 1000) {
      pipeline.sadd(
        `${bucket}_${bigKey}`,
        ...Array.from({ length: 1000 }, (_, index) => `m:${offset + index}`),
      );
    }
    await pipeline.exec();
    const client = cluster.client();
    const probeKeys = Array.from({ length: 200 }, (_, index) => `probe:${index}`);
    await client.mset(...probeKeys.flatMap((key) => [key, 'v']));
    const migrator = new BucketMigrator(cluster.configServer, { bigKeyBytes });
    // The proxy and the mover share this process: a stall of its event loop shows here, not in Redis.
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const started = performance.now();
    migrator.start('test', [bucket], added.address);
    const latencies: number[] = [];
    for (let round = 0; migrator.status('test').state === 'running'; round++) {
      const before = performance.now();
      await client.get(probeKeys[round % probeKeys.length]!);
      latencies.push(performance.now() - before);
    }
    const status = await migrator.wait('test', 600_000);
    const seconds = (performance.now() - started) / 1000;
    loopDelay.disable();
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
    const members = await added.client().scard(`${bucket}_${bigKey}`);
    return (
      `${bigKeyBytes > 0 ? 'chunked' : 'one MIGRATE'}: ${status.state}, ${members} members on the target, ` +
      `${seconds.toFixed(2)} s, ${latencies.length} probe GETs, p99 ${p99.toFixed(1)} ms, ` +
      `max ${(latencies.at(-1) ?? 0).toFixed(1)} ms, event loop delay max ${(loopDelay.max / 1e6).toFixed(1)} ms`
    );
  } finally {
    await cluster.stop();
    await added.stop();
  }
}

console.log(`load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}, ${MEMBERS} members`);
console.log(await measure(8 << 20));
console.log(await measure(0));
