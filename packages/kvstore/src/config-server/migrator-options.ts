import { Redis, ReplyError } from 'ioredis';
import { parseAddress } from '../core/address';

export interface BucketMigratorOptions {
  /** Password of the Redis masters (MIGRATE … AUTH; the original blanked requirepass instead). @default '' */
  redisPassword?: string;
  /** SCAN COUNT per page, and the largest MIGRATE … KEYS batch. @default 10000 */
  batchSize?: number;
  /** MIGRATE batches are sized so one blocks the source about this long (adaptive). @default 50 */
  migrateBudgetMs?: number;
  /** MIGRATE timeout. @default 5000 */
  migrateTimeoutMs?: number;
  /** Longest wait for every online proxy to poll the new table version. @default 30000 */
  proxyAckTimeoutMs?: number;
  /** Default keys/s limit of a job (0: unlimited); `migrate_bucket` may set its own. @default 0 */
  maxMigrateKeysPerSecond?: number;
  /** A key whose `MEMORY USAGE` passes this is moved in chunks, not by one MIGRATE (0: never). @default 8 MiB */
  bigKeyBytes?: number;
  /** Elements per chunk of a big key (SSCAN/HSCAN/ZSCAN COUNT, LRANGE span). @default 1000 */
  bigKeyChunkElements?: number;
  /**
   * Called after each MIGRATE batch, before the next SCAN (tests use it to stop a job mid-bucket
   * deterministically; a rejection fails the job and leaves it persisted for a resume).
   */
  onBatch?: (progress: { namespace: string; bucket: number; movedKeys: number }) => void | Promise<void>;
}

export const DEFAULT_BUCKET_MIGRATOR_OPTIONS = {
  redisPassword: '',
  batchSize: 10_000,
  migrateBudgetMs: 50,
  migrateTimeoutMs: 5000,
  proxyAckTimeoutMs: 30_000,
  maxMigrateKeysPerSecond: 0,
  bigKeyBytes: 8 << 20,
  bigKeyChunkElements: 1000,
  onBatch: undefined as BucketMigratorOptions['onBatch'],
};

export function isBusyKey(error: unknown): boolean {
  return error instanceof ReplyError && (error as Error).message.includes('BUSYKEY');
}

export function connectTo(address: string, password: string): Redis {
  const target = parseAddress(address)!;
  const client = new Redis({
    host: target.host,
    port: target.port,
    ...(password ? { password } : {}),
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 2,
  });
  client.on('error', () => undefined);
  return client;
}

/**
 * One multi-key MIGRATE; on BUSYKEY the destination's copies win and the source ones are dropped.
 * Returns how many keys moved.
 */
export async function migrateBatch(
  client: Redis,
  target: { host: string; port: number },
  auth: string[],
  keys: Buffer[],
  timeoutMs: number,
): Promise<number> {
  const timeout = String(timeoutMs);
  try {
    await client.call(
      'MIGRATE',
      target.host,
      String(target.port),
      '',
      '0',
      timeout,
      ...auth,
      'KEYS',
      ...keys,
    );
    return keys.length;
  } catch (error) {
    if (!isBusyKey(error)) throw error;
    // The destination already has some keys (moved on access and written since): it is
    // authoritative, so the stale source copies are dropped one by one.
    let moved = 0;
    for (const key of keys) {
      try {
        await client.call('MIGRATE', target.host, String(target.port), key, '0', timeout, ...auth);
        moved++;
      } catch (single) {
        if (!isBusyKey(single)) throw single;
        await client.del(key);
      }
    }
    return moved;
  }
}
