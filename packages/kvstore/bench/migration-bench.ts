// Online-migration speed: 200 000 keys over 3 masters, 85 of 256 buckets (one third) moved to a 4th,
// with the migrator's default batch and with the old 1 000-key batch, in the same run.
// Run: pnpm -F @kvforge/kvstore exec tsx --conditions=@kvforge/source bench/migration-bench.ts
import { startRedis } from '@kvforge/testing';
import { BucketMigrator } from '../src/config-server/bucket-migrator';
import { ConfigServer } from '../src/config-server/config-server';
import { MemoryStateStore } from '../src/config-server/state-store';
import { bucketOf } from '../src/core/murmur-hash2';

const KEYS = 200_000;
const BUCKETS = 256;
const MOVED = Array.from({ length: 85 }, (_, index) => index * 3);

async function measure(batchSize: number | undefined): Promise<{ keys: number; seconds: number }> {
  const masters = await Promise.all([startRedis(), startRedis(), startRedis()]);
  const destination = await startRedis();
  try {
    const server = await ConfigServer.open({ store: new MemoryStateStore() });
    const table = await server.initTable(
      'bench',
      BUCKETS,
      masters.map((master) => master.address),
    );
    const clients = masters.map((master) => master.client());
    const pipelines = clients.map((client) => client.pipeline());
    for (let index = 0; index < KEYS; index++) {
      const key = Buffer.from(`key:${index}`);
      const bucket = bucketOf(key, 0, key.length, BUCKETS);
      pipelines[masters.findIndex((master) => master.address === table.owners[bucket])]!.set(
        `${bucket}_key:${index}`,
        'x'.repeat(64),
      );
    }
    await Promise.all(pipelines.map((pipeline) => pipeline.exec()));
    const migrator = new BucketMigrator(server, batchSize === undefined ? {} : { batchSize });
    const started = performance.now();
    migrator.start('bench', MOVED, destination.address);
    const status = await migrator.wait('bench', 600_000);
    const seconds = (performance.now() - started) / 1000;
    if (status.state !== 'success') throw new Error(`migration ${status.state}: ${status.error}`);
    const moved = await destination.client().dbsize();
    for (const client of clients) client.disconnect();
    return { keys: moved, seconds };
  } finally {
    await Promise.all([...masters, destination].map((redis) => redis.stop()));
  }
}

const rows: string[] = [
  '| batch (SCAN COUNT) | keys moved | seconds | keys/s |',
  '| --- | --- | --- | --- |',
];
for (const batch of [1000, undefined]) {
  const { keys, seconds } = await measure(batch);
  rows.push(
    `| ${batch ?? '10000 (default)'} | ${keys} | ${seconds.toFixed(2)} | ${Math.round(keys / seconds)} |`,
  );
}
process.stdout.write(`${rows.join('\n')}\n`);
