import type { Redis } from 'ioredis';

const UNDERSCORE = 0x5f;
const ZERO = 0x30;

/** The bucket of a stored key `<bucket>_<key>`, or -1 when it has no such prefix. */
export function bucketPrefix(key: Buffer): number {
  let bucket = 0;
  for (let index = 0; index < key.length && index < 6; index++) {
    const byte = key[index]!;
    if (byte === UNDERSCORE) return index === 0 ? -1 : bucket;
    const digit = byte - ZERO;
    if (digit < 0 || digit > 9) return -1;
    bucket = bucket * 10 + digit;
  }
  return -1;
}

/**
 * One SCAN pass over a source master, keeping the keys of `buckets` grouped by bucket. A per-bucket
 * `SCAN MATCH <bucket>_*` visits every key of the source, so a job of N buckets would walk the source
 * N times; with the index it walks it once, and each bucket needs only its verification pass
 * (which catches keys written after the index was taken).
 */
export async function indexBucketKeys(
  client: Redis,
  buckets: ReadonlySet<number>,
  count: number,
): Promise<Map<number, Buffer[]>> {
  const index = new Map<number, Buffer[]>();
  let cursor = '0';
  do {
    const [next, keys] = (await client.scanBuffer(cursor, 'COUNT', count)) as [Buffer, Buffer[]];
    cursor = next.toString();
    for (const key of keys) {
      const bucket = bucketPrefix(key);
      if (!buckets.has(bucket)) continue;
      const list = index.get(bucket);
      if (list) list.push(key);
      else index.set(bucket, [key]);
    }
  } while (cursor !== '0');
  return index;
}

/**
 * MIGRATE batch size that keeps one MIGRATE (which blocks the source while it runs) near
 * `budgetMs`: grows while batches are fast, shrinks after a slow one (big values).
 */
export class AdaptiveBatch {
  size: number;

  constructor(
    private readonly maxSize: number,
    private readonly budgetMs: number,
    private readonly minSize = 16,
  ) {
    this.size = Math.min(maxSize, 1000);
  }

  record(keys: number, tookMs: number): void {
    if (keys < this.size) return; // a short tail batch says little about the rate
    const ideal = tookMs > 0 ? Math.floor((keys * this.budgetMs) / tookMs) : this.maxSize;
    // At most doubling per step; a slow batch cuts at once.
    this.size = Math.max(this.minSize, Math.min(this.maxSize, ideal, this.size * 2));
  }
}
