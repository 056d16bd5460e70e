import {
  type EtcdProcess,
  makeTempDirectory,
  type RedisProcess,
  removeDirectory,
  startEtcd,
  startRedis,
} from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BucketMigrator } from '../src/config-server/bucket-migrator';
import { ConfigServer } from '../src/config-server/config-server';
import { EtcdStateStore } from '../src/config-server/etcd-state-store';
import { type ConfigStateStore, FileStateStore } from '../src/config-server/state-store';
import { NO_MIGRATING_BUCKET } from '../src/core/bucket-table';
import { murmurHash2 } from '../src/core/murmur-hash2';

const BUCKETS = 256;
const MOVED = [3, 50, 81, 99, 200];
const KEY_COUNT = 4000;
const CRASH = new Error('simulated ConfigServer crash');

describe('an online migration survives a ConfigServer restart (real redis-servers)', () => {
  let source: RedisProcess;
  let destination: RedisProcess;
  let etcd: EtcdProcess;
  let directory: string;
  const opened: ConfigStateStore[] = [];

  beforeAll(async () => {
    [source, destination, etcd] = await Promise.all([startRedis(), startRedis(), startEtcd()]);
    directory = makeTempDirectory('kvstore-migration-restart');
  }, 60_000);
  afterAll(async () => {
    for (const store of opened) await store.close?.();
    await Promise.all([source?.stop(), destination?.stop(), etcd?.stop()]);
    if (directory) removeDirectory(directory);
  });

  const stores: [string, (run: number) => ConfigStateStore][] = [
    ['file store', () => new FileStateStore(directory)],
    ['etcd store', () => new EtcdStateStore({ endpoints: etcd.endpoints, key: '/test/migration-restart' })],
  ];

  it.each(stores)(
    '%s: the resumed job finishes the interrupted bucket and the rest; no key is lost',
    async (_name, makeStore) => {
      const open = async () => {
        const store = makeStore(opened.length);
        opened.push(store);
        return ConfigServer.open({ store });
      };
      await Promise.all([source.client().flushall(), destination.client().flushall()]);
      const keys = Array.from({ length: KEY_COUNT }, (_, index) => `key:${index}`);
      const bucketOf = (key: string) => murmurHash2(Buffer.from(key)) % BUCKETS;
      const pipeline = source.client().pipeline();
      for (const key of keys) pipeline.set(`${bucketOf(key)}_${key}`, `value-${key}`);
      await pipeline.exec();

      const first = await open();
      await first.initTable('ds', BUCKETS, [source.address]);
      // Tiny batches; the first batch of the second bucket "crashes" the server: one bucket is done,
      // the second is marked migrating and partly moved.
      const crashing = new BucketMigrator(first, {
        batchSize: 20,
        onBatch: ({ bucket }) => {
          if (bucket === MOVED[1]) throw CRASH;
        },
      });
      crashing.start('ds', MOVED, destination.address);
      const crashed = await crashing.wait('ds');
      expect(crashed).toMatchObject({ state: 'failed', error: CRASH.message, current_bucket: MOVED[1] });
      expect(first.getTable('ds').migratingBucketId).toBe(MOVED[1]);
      expect(await destination.client().dbsize()).toBeGreaterThan(0);

      const second = await open();
      expect(second.migrationJobs()).toEqual([
        {
          namespace: 'ds',
          destination: destination.address,
          buckets: MOVED.slice(1),
          movedKeys: expect.any(Number),
        },
      ]);
      expect(second.getTable('ds').owners[MOVED[0]!]).toBe(destination.address);
      const resuming = new BucketMigrator(second, { batchSize: 20 });
      const resumed = resuming.resume();
      expect(resumed).toHaveLength(1);
      expect(resumed[0]).toMatchObject({ namespace: 'ds', remaining_buckets: MOVED.length - 1 });
      const done = await resuming.wait('ds');
      expect(done).toMatchObject({ state: 'success', remaining_buckets: 0, error: '' });

      const table = second.getTable('ds');
      expect(table.migratingBucketId).toBe(NO_MIGRATING_BUCKET);
      for (let bucket = 0; bucket < BUCKETS; bucket++) {
        expect(table.owners[bucket]).toBe(MOVED.includes(bucket) ? destination.address : source.address);
      }
      expect(second.migrationJobs()).toEqual([]);
      expect((await open()).migrationJobs()).toEqual([]);

      // Every key is on its owner with its value, and nowhere else.
      const sourceClient = source.client();
      const destinationClient = destination.client();
      const movedKeys = keys.filter((key) => MOVED.includes(bucketOf(key)));
      expect(movedKeys.length).toBeGreaterThan(MOVED.length * 5);
      const onDestination = await destinationClient.mget(
        ...movedKeys.map((key) => `${bucketOf(key)}_${key}`),
      );
      expect(onDestination).toEqual(movedKeys.map((key) => `value-${key}`));
      const stayed = keys.filter((key) => !MOVED.includes(bucketOf(key)));
      const onSource = await sourceClient.mget(...stayed.map((key) => `${bucketOf(key)}_${key}`));
      expect(onSource).toEqual(stayed.map((key) => `value-${key}`));
      expect(await destinationClient.dbsize()).toBe(movedKeys.length);
      expect(await sourceClient.dbsize()).toBe(stayed.length);
    },
  );
});
