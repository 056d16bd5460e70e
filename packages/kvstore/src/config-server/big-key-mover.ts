import type { Redis } from 'ioredis';

/** Prefixes of the temporary names; they never match a bucket's `<bucket>_*`, so no SCAN pass moves them. */
const SOURCE_PREFIX = Buffer.from('__kvforge_big_src_');
const TARGET_PREFIX = Buffer.from('__kvforge_big_dst_');
const STRING_CHUNK_BYTES = 1 << 20;

export type BigKeyOutcome = 'moved' | 'gone' | 'destination-kept' | 'expired' | 'whole';

/**
 * Which of `keys` use more than `thresholdBytes` (`MEMORY USAGE`, sampled: O(1) per key, one pipeline
 * per batch). A key that vanished in between is simply not big.
 */
export async function findBigKeys(
  client: Redis,
  keys: Buffer[],
  thresholdBytes: number,
): Promise<Set<number>> {
  const pipeline = client.pipeline();
  for (const key of keys) pipeline.call('MEMORY', 'USAGE', key);
  const replies = (await pipeline.exec()) ?? [];
  const big = new Set<number>();
  replies.forEach(([error, bytes], index) => {
    if (!error && typeof bytes === 'number' && bytes > thresholdBytes) big.add(index);
  });
  return big;
}

function sourceTemp(key: Buffer): Buffer {
  return Buffer.concat([SOURCE_PREFIX, key]);
}

/**
 * Moves one big key in chunks, so neither Redis is blocked for longer than one chunk:
 * RENAME it on the source to a temporary name (atomic: a straggling MIGRATE of the real key now finds
 * nothing; if the key is already gone, it moved whole and there is nothing to do), copy it chunk by
 * chunk into a temporary key on the target (set SSCAN→SADD, hash HSCAN→HSET, zset ZSCAN→ZADD, list
 * LRANGE→RPUSH, string GETRANGE→APPEND; streams and other types fall back to one MIGRATE), then
 * RENAMENX it onto the real key (a key already there was written on the destination and wins, as with
 * BUSYKEY), restore the TTL and UNLINK the source copy. The caller makes proxies hold requests for the
 * key meanwhile. Re-running after a crash resumes from the source's temporary key.
 */
export async function moveBigKey(
  source: Redis,
  target: Redis,
  key: Buffer,
  chunkElements: number,
  migrateWhole: (key: Buffer) => Promise<void>,
): Promise<BigKeyOutcome> {
  const from = sourceTemp(key);
  const to = Buffer.concat([TARGET_PREFIX, key]);
  try {
    await source.rename(key, from);
  } catch (error) {
    if (!/no such key/i.test((error as Error).message)) throw error;
    // Gone: moved whole already — unless a crashed run of ours renamed it (then resume from there).
    if ((await source.exists(from)) === 0) return 'gone';
  }
  const pttl = await source.pttl(from);
  const deadline = pttl > 0 ? Date.now() + pttl : 0;
  await target.del(to);
  const type = await source.type(from);
  let outcome: BigKeyOutcome = 'moved';
  if (type === 'set')
    await copyScanned(source, from, 'sscanBuffer', chunkElements, (m) => target.sadd(to, ...m));
  else if (type === 'hash')
    await copyScanned(source, from, 'hscanBuffer', chunkElements, (m) => target.hset(to, ...m));
  else if (type === 'zset')
    await copyScanned(source, from, 'zscanBuffer', chunkElements, (m) => target.zadd(to, ...swapPairs(m)));
  else if (type === 'list') await copyList(source, target, from, to, chunkElements);
  else if (type === 'string') await copyString(source, target, from, to);
  else if (type === 'none') return 'gone';
  else {
    // Streams (and module types): no chunked copy here; one blocking MIGRATE, then the same RENAMENX.
    await migrateWhole(from);
    await target.rename(from, to);
    outcome = 'whole';
  }
  const remaining = deadline > 0 ? deadline - Date.now() : 0;
  if (deadline > 0 && remaining <= 0) {
    await target.del(to);
    await source.unlink(from);
    return 'expired';
  }
  const renamed = (await target.exists(to)) === 1 ? await target.renamenx(to, key) : 1;
  if (renamed === 0) {
    await target.unlink(to);
    outcome = 'destination-kept';
  } else if (remaining > 0) await target.pexpire(key, remaining);
  await source.unlink(from);
  return outcome;
}

type ScanMethod = 'sscanBuffer' | 'hscanBuffer' | 'zscanBuffer';

/** SCAN-family copy; the next page is requested before this page's write is awaited. */
async function copyScanned(
  source: Redis,
  key: Buffer,
  method: ScanMethod,
  count: number,
  write: (items: Buffer[]) => Promise<unknown>,
): Promise<void> {
  const page = (cursor: string) =>
    (source[method] as (k: Buffer, c: string, o: 'COUNT', n: number) => Promise<[Buffer, Buffer[]]>).call(
      source,
      key,
      cursor,
      'COUNT',
      count,
    );
  let next: Promise<[Buffer, Buffer[]]> | undefined = page('0');
  while (next) {
    const [cursor, items]: [Buffer, Buffer[]] = await next;
    const text: string = cursor.toString();
    next = text === '0' ? undefined : page(text);
    next?.catch(() => undefined);
    if (items.length > 0) await write(items);
  }
}

/** ZSCAN gives member, score; ZADD wants score, member. */
function swapPairs(items: Buffer[]): Buffer[] {
  const swapped = new Array<Buffer>(items.length);
  for (let index = 0; index + 1 < items.length; index += 2) {
    swapped[index] = items[index + 1]!;
    swapped[index + 1] = items[index]!;
  }
  return swapped;
}

async function copyList(
  source: Redis,
  target: Redis,
  from: Buffer,
  to: Buffer,
  count: number,
): Promise<void> {
  const length = await source.llen(from);
  for (let start = 0; start < length; start += count) {
    const items = await source.lrangeBuffer(from, start, start + count - 1);
    if (items.length > 0) await target.rpush(to, ...items);
  }
}

async function copyString(source: Redis, target: Redis, from: Buffer, to: Buffer): Promise<void> {
  const length = await source.strlen(from);
  if (length === 0) {
    await target.set(to, '');
    return;
  }
  for (let start = 0; start < length; start += STRING_CHUNK_BYTES) {
    await target.append(to, await source.getrangeBuffer(from, start, start + STRING_CHUNK_BYTES - 1));
  }
}
