import { pollUntil } from '@kvforge/runtime';
import type { Redis } from 'ioredis';
import { parseAddress } from '../core/address';
import {
  changeMigratingBigKeys,
  completeMigration,
  NO_MIGRATING_BUCKET,
  scaleUpTable,
  startMigration,
} from '../core/bucket-table';
import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';
import { findBigKeys, moveBigKey } from './big-key-mover';
import { AdaptiveBatch, indexBucketKeys } from './bucket-key-index';
import type { ConfigServer } from './config-server';
import type { JobClock, MigrationStatus, Pacing } from './migration-status';
import { KeyRateLimiter } from './migration-throttle';

import {
  type BucketMigratorOptions,
  connectTo,
  DEFAULT_BUCKET_MIGRATOR_OPTIONS,
  migrateBatch,
} from './migrator-options';

export type { MigrationStatus } from './migration-status';
export { type BucketMigratorOptions, DEFAULT_BUCKET_MIGRATOR_OPTIONS } from './migrator-options';

/**
 * Online bucket migration for data_store namespaces. For each bucket: mark it migrating (proxies
 * then move a key on access with MIGRATE before serving it from the destination), wait until every
 * online proxy holds that table, move the rest with SCAN `<bucket>_*` + batched `MIGRATE … KEYS`
 * until a full pass finds nothing, then hand the bucket over and wait for the proxies again.
 */
export class BucketMigrator {
  private readonly options: typeof DEFAULT_BUCKET_MIGRATOR_OPTIONS;
  private readonly statuses = new Map<string, MigrationStatus>();
  private readonly clocks = new Map<string, JobClock>();

  constructor(
    private readonly server: ConfigServer,
    options: BucketMigratorOptions = {},
  ) {
    this.options = { ...DEFAULT_BUCKET_MIGRATOR_OPTIONS, ...options };
  }

  status(namespace: string): MigrationStatus {
    this.server.getTable(namespace);
    const status = this.statuses.get(namespace);
    return status ? this.withRate(status) : { ...this.newStatus(namespace, '', 0, 0), state: 'idle' };
  }

  /** Every job this ConfigServer ran or runs (for /metrics). */
  statusList(): MigrationStatus[] {
    return [...this.statuses.values()].map((status) => this.withRate(status));
  }

  private withRate(status: MigrationStatus): MigrationStatus {
    const clock = this.clocks.get(status.namespace);
    if (!clock) return { ...status };
    const elapsedMs = (clock.endedMs ?? Date.now()) - clock.startedMs;
    const moved = status.moved_keys - clock.startMovedKeys;
    return {
      ...status,
      elapsed_ms: elapsedMs,
      keys_per_second: elapsedMs > 0 ? Math.round((moved * 1000) / elapsedMs) : 0,
    };
  }

  private newStatus(
    namespace: string,
    destination: string,
    buckets: number,
    movedKeys: number,
  ): MigrationStatus {
    return {
      namespace,
      state: 'running',
      remaining_buckets: buckets,
      current_bucket: NO_MIGRATING_BUCKET,
      destination,
      moved_keys: movedKeys,
      error: '',
      buckets_total: buckets,
      buckets_done: 0,
      keys_per_second: 0,
      elapsed_ms: 0,
      max_migrate_keys_per_second: this.options.maxMigrateKeysPerSecond,
    };
  }

  /** Starts moving `buckets` to `destination` in the background; one job per namespace at a time. */
  start(
    namespace: string,
    buckets: number[],
    destination: string,
    limits: { maxKeysPerSecond?: number | undefined } = {},
  ): MigrationStatus {
    const table = this.server.getTable(namespace);
    if (table.clusterType !== 'data_store') {
      throw new KvstoreError(
        KVSTORE_ERROR_CODES.WRONG_CLUSTER_TYPE,
        'online migration is for data_store namespaces',
      );
    }
    if (this.statuses.get(namespace)?.state === 'running') {
      throw new KvstoreError(KVSTORE_ERROR_CODES.MIGRATION_FAILED, 'a migration is already running');
    }
    if (parseAddress(destination) === undefined) {
      throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_ADDRESS, `not a valid addr: ${destination}`);
    }
    for (const bucket of buckets) {
      if (!Number.isInteger(bucket) || bucket < 0 || bucket >= table.owners.length) {
        throw new KvstoreError(KVSTORE_ERROR_CODES.MIGRATION_FAILED, `no bucket ${bucket}`);
      }
    }
    const status = this.newStatus(namespace, destination, buckets.length, 0);
    if (limits.maxKeysPerSecond !== undefined) {
      if (!Number.isFinite(limits.maxKeysPerSecond) || limits.maxKeysPerSecond < 0) {
        throw new KvstoreError(
          KVSTORE_ERROR_CODES.MIGRATION_FAILED,
          'max_migrate_keys_per_second must be >= 0',
        );
      }
      status.max_migrate_keys_per_second = limits.maxKeysPerSecond;
    }
    this.launch(status, buckets);
    return status;
  }

  /**
   * Restarts the jobs the ConfigServer persisted (it was stopped or crashed mid-migration). A bucket
   * already marked migrating is not marked again: its SCAN + MIGRATE pass simply runs again, which is
   * idempotent (keys already on the destination are not on the source any more).
   */
  resume(): MigrationStatus[] {
    if (!this.server.isMaster) return [];
    const resumed: MigrationStatus[] = [];
    for (const job of this.server.migrationJobs()) {
      if (this.statuses.get(job.namespace)?.state === 'running') continue;
      // The persisted job has no limit of its own: a resumed job runs at the migrator's default.
      const status = this.newStatus(job.namespace, job.destination, job.buckets.length, job.movedKeys);
      this.launch(status, job.buckets);
      resumed.push(status);
    }
    return resumed;
  }

  private launch(status: MigrationStatus, buckets: number[]): void {
    this.statuses.set(status.namespace, status);
    const clock: JobClock = { startedMs: Date.now(), startMovedKeys: status.moved_keys };
    this.clocks.set(status.namespace, clock);
    const pacing: Pacing = {
      limiter: new KeyRateLimiter(status.max_migrate_keys_per_second),
      batch: new AdaptiveBatch(this.options.batchSize, this.options.migrateBudgetMs),
      indexes: new Map(),
      buckets,
    };
    void this.run(status, buckets, pacing)
      .catch((error: unknown) => {
        // The persisted job stays: the table still marks the bucket migrating, and a restart resumes it.
        status.state = 'failed';
        status.error = error instanceof Error ? error.message : String(error);
      })
      .finally(() => {
        clock.endedMs = Date.now();
      });
  }

  /** data_store scale-out: the buckets `scale_cache_cluster add` would give the new server, moved online. */
  scaleOut(namespace: string, address: string): MigrationStatus {
    const table = this.server.getTable(namespace);
    const target = scaleUpTable(table, address);
    const buckets = target.owners.flatMap((owner, bucket) => (owner === address ? [bucket] : []));
    return this.start(namespace, buckets, address);
  }

  /** Resolves once the job of `namespace` has ended (tests, tools). */
  async wait(namespace: string, timeoutMs = 120_000): Promise<MigrationStatus> {
    await pollUntil(() => this.statuses.get(namespace)?.state !== 'running', {
      timeoutMs,
      description: `the migration of ${namespace} to finish`,
    });
    return this.status(namespace);
  }

  private async waitForProxies(namespace: string, version: number): Promise<void> {
    // A 2 ms poll of an in-memory map: at 20 ms, two waits per bucket cost ~40 ms of a ~60 ms bucket.
    await pollUntil(() => this.server.proxiesAt(namespace, version), {
      intervalMs: 2,
      timeoutMs: this.options.proxyAckTimeoutMs,
      description: `the proxies of ${namespace} to take table version ${version}`,
    });
  }

  private async run(status: MigrationStatus, buckets: number[], pacing: Pacing): Promise<void> {
    const job = {
      namespace: status.namespace,
      destination: status.destination,
      buckets: [...buckets],
      movedKeys: status.moved_keys,
    };
    await this.server.saveMigrationJob(job);
    for (const bucket of buckets) {
      const table = this.server.getTable(status.namespace);
      status.current_bucket = bucket;
      if (table.owners[bucket] !== status.destination) {
        const source = table.owners[bucket]!;
        const client = connectTo(source, this.options.redisPassword);
        try {
          await client.connect();
          await this.moveBucket(client, source, status, bucket, pacing);
        } finally {
          client.disconnect();
        }
        const completed = await this.server.updateTable(status.namespace, (current) =>
          completeMigration(current),
        );
        await this.waitForProxies(status.namespace, completed.version);
      }
      status.remaining_buckets--;
      status.buckets_done++;
      job.buckets.shift();
      job.movedKeys = status.moved_keys;
      await this.server.saveMigrationJob(job);
    }
    status.current_bucket = NO_MIGRATING_BUCKET;
    status.state = 'success';
  }

  /**
   * One bucket: its keys from the source's index (one SCAN for the whole job), the big ones among them
   * (listed in the same table change that marks the bucket migrating, so proxies hold requests for
   * them from the start instead of MIGRATEing them whole), then mark, wait for the proxies, move the
   * big keys in chunks, the rest in MIGRATE batches, and SCAN `<bucket>_*` passes.
   */
  private async moveBucket(
    client: Redis,
    source: string,
    status: MigrationStatus,
    bucket: number,
    pacing: Pacing,
  ): Promise<void> {
    let index = pacing.indexes.get(source);
    if (!index) {
      const table = this.server.getTable(status.namespace);
      const mine = pacing.buckets.filter((other) => table.owners[other] === source || other === bucket);
      index = await indexBucketKeys(client, new Set(mine), this.options.batchSize);
      pacing.indexes.set(source, index);
    }
    let indexed = index.get(bucket) ?? [];
    index.delete(bucket);
    const bigAt =
      this.options.bigKeyBytes > 0 && indexed.length > 0
        ? await findBigKeys(client, indexed, this.options.bigKeyBytes)
        : new Set<number>();
    const big = indexed.flatMap((key, at) => (bigAt.has(at) ? [key.toString('hex')] : []));
    if (big.length > 0) indexed = indexed.filter((_, at) => !bigAt.has(at));
    const table = this.server.getTable(status.namespace);
    // Resumed in the middle of this bucket: it is already marked migrating to this destination.
    const resumedMidBucket =
      table.migratingBucketId === bucket && table.migratingServerAddr === status.destination;
    const started =
      resumedMidBucket && big.length === 0
        ? table
        : await this.server.updateTable(status.namespace, (current) => {
            const marked = resumedMidBucket ? current : startMigration(current, bucket, status.destination);
            return big.length > 0 ? changeMigratingBigKeys(marked, { add: big }) : marked;
          });
    await this.waitForProxies(status.namespace, started.version);
    const target = parseAddress(status.destination)!;
    const auth = this.options.redisPassword ? ['AUTH', this.options.redisPassword] : [];
    // Listed ones first (this run's, and any a stopped run left: their source copy may be renamed).
    for (const hex of started.migratingBigKeys ?? []) {
      await this.moveBig(client, target, auth, Buffer.from(hex, 'hex'), status);
    }
    await this.moveKeys(client, target, auth, status, bucket, pacing, indexed);
  }

  /** The bucket's indexed (small) keys, then SCAN passes until one finds nothing of the bucket. */
  private async moveKeys(
    client: Redis,
    target: { host: string; port: number },
    auth: string[],
    status: MigrationStatus,
    bucket: number,
    pacing: Pacing,
    indexed: Buffer[],
  ): Promise<void> {
    await this.migrateKeys(client, target, auth, indexed, status, pacing);
    if (indexed.length > 0)
      await this.options.onBatch?.({ namespace: status.namespace, bucket, movedKeys: status.moved_keys });
    const scan = (cursor: string): Promise<[Buffer, Buffer[]]> => {
      const page = client.scanBuffer(
        cursor,
        'MATCH',
        `${bucket}_*`,
        'COUNT',
        this.options.batchSize,
      ) as Promise<[Buffer, Buffer[]]>;
      page.catch(() => undefined); // a job stopped mid-page must not leave an unhandled rejection
      return page;
    };
    for (;;) {
      let found = 0;
      // The next SCAN page is requested before this page's MIGRATE is awaited: one round trip less per page.
      let page: Promise<[Buffer, Buffer[]]> | undefined = scan('0');
      while (page) {
        const [next, keys]: [Buffer, Buffer[]] = await page;
        const cursor: string = next.toString();
        page = cursor === '0' ? undefined : scan(cursor);
        if (keys.length === 0) continue;
        found += keys.length;
        await this.migrateKeys(client, target, auth, keys, status, pacing);
        await this.options.onBatch?.({ namespace: status.namespace, bucket, movedKeys: status.moved_keys });
      }
      if (found === 0) return;
    }
  }

  /**
   * `keys` in MIGRATE batches of the adaptive size (one blocks the source about migrateBudgetMs),
   * throttled: at most ~100 ms of the keys/s budget per batch, each waiting for its slot.
   */
  private async migrateKeys(
    client: Redis,
    target: { host: string; port: number },
    auth: string[],
    keys: Buffer[],
    status: MigrationStatus,
    pacing: Pacing,
  ): Promise<void> {
    for (let offset = 0; offset < keys.length; ) {
      const cap = pacing.limiter.batchCap(pacing.batch.size);
      const batch = offset === 0 && cap >= keys.length ? keys : keys.slice(offset, offset + cap);
      offset += batch.length;
      await pacing.limiter.take(batch.length);
      const started = performance.now();
      const big =
        this.options.bigKeyBytes > 0 ? await findBigKeys(client, batch, this.options.bigKeyBytes) : undefined;
      const small = big?.size ? batch.filter((_, index) => !big.has(index)) : batch;
      if (small.length > 0)
        status.moved_keys += await migrateBatch(client, target, auth, small, this.options.migrateTimeoutMs);
      pacing.batch.record(small.length, performance.now() - started);
      for (const index of big ?? []) await this.moveBig(client, target, auth, batch[index]!, status);
    }
  }

  /**
   * One big key, in chunks: the table names it (proxies then hold requests for that one key), every
   * proxy has taken that table, the key moves, the table clears it (proxies release the held requests,
   * whose MIGRATE step now finds nothing on the source and sends them to the destination).
   */
  private async moveBig(
    client: Redis,
    target: { host: string; port: number },
    auth: string[],
    key: Buffer,
    status: MigrationStatus,
  ): Promise<void> {
    const hex = key.toString('hex');
    // Found by a SCAN pass (written after the index): list it and wait until every proxy holds it.
    if (!this.server.getTable(status.namespace).migratingBigKeys?.includes(hex)) {
      const marked = await this.server.updateTable(status.namespace, (table) =>
        changeMigratingBigKeys(table, { add: [hex] }),
      );
      await this.waitForProxies(status.namespace, marked.version);
    }
    const destination = connectTo(status.destination, this.options.redisPassword);
    try {
      await destination.connect();
      const outcome = await moveBigKey(client, destination, key, this.options.bigKeyChunkElements, (whole) =>
        migrateBatch(client, target, auth, [whole], this.options.migrateTimeoutMs).then(() => undefined),
      );
      if (outcome === 'moved' || outcome === 'destination-kept') status.moved_keys++;
    } finally {
      destination.disconnect();
    }
    await this.server.updateTable(status.namespace, (table) =>
      changeMigratingBigKeys(table, { remove: hex }),
    );
  }
}
