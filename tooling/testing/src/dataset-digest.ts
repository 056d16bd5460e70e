import type { Redis } from 'ioredis';

export interface CompareDatasetsOptions {
  /** Databases to compare. @default every database that holds keys on either side */
  databases?: readonly number[];
  /** TTLs may differ this much (replication takes time). @default 2000 */
  ttlToleranceMs?: number;
  /** Keys to leave out (e.g. a syncer's own checkpoint keys on the target). */
  ignoreKey?: (key: string) => boolean;
  /** Stop collecting after this many differences. @default 20 */
  maxDifferences?: number;
  /** Compare FUNCTION LIST WITHCODE too. @default true */
  compareFunctions?: boolean;
  /** Keys per pipelined batch. @default 200 */
  batchSize?: number;
}

export interface DatasetComparison {
  equal: boolean;
  /** Keys compared on the source side. */
  keyCount: number;
  /** The first differences, each naming the database and key. */
  differences: string[];
}

type Reply = Buffer | number | null | Reply[];

const printable = (key: Buffer): string => {
  const text = key.toString('utf8');
  return Buffer.from(text, 'utf8').equals(key) ? text : `0x${key.toString('hex')}`;
};

async function databasesWithKeys(client: Redis): Promise<number[]> {
  const info = await client.info('keyspace');
  return [...info.matchAll(/^db(\d+):keys=(\d+)/gm)].map((match) => Number(match[1]));
}

async function scanAll(client: Redis): Promise<Map<string, Buffer>> {
  const keys = new Map<string, Buffer>();
  let cursor = '0';
  do {
    const [next, batch] = (await client.callBuffer('SCAN', cursor, 'COUNT', '1000')) as [Buffer, Buffer[]];
    cursor = next.toString();
    for (const key of batch) keys.set(key.toString('hex'), key);
  } while (cursor !== '0');
  return keys;
}

function canonicalCommands(type: string, key: Buffer): (string | Buffer)[][] {
  switch (type) {
    case 'string':
      return [['GET', key]];
    case 'list':
      return [['LRANGE', key, '0', '-1']];
    case 'hash':
      return [['HGETALL', key]];
    case 'set':
      return [['SMEMBERS', key]];
    case 'zset':
      return [['ZRANGE', key, '0', '-1', 'WITHSCORES']];
    case 'stream':
      return [
        ['XRANGE', key, '-', '+'],
        ['XINFO', 'STREAM', key],
        ['XINFO', 'GROUPS', key],
      ];
    default:
      return [['DUMP', key]];
  }
}

function render(reply: Reply): string {
  if (reply === null) return 'nil';
  if (Buffer.isBuffer(reply)) return reply.toString('hex');
  if (Array.isArray(reply)) return `[${reply.map(render).join(',')}]`;
  return String(reply);
}

function pairs(reply: Reply[]): string[] {
  const result: string[] = [];
  for (let index = 0; index + 1 < reply.length; index += 2)
    result.push(`${render(reply[index]!)}=${render(reply[index + 1]!)}`);
  return result;
}

// Stream metadata that legitimately differs between a source and its copy (timing, radix-tree sizes).
const VOLATILE_STREAM_FIELDS = new Set([
  'length',
  'radix-tree-keys',
  'radix-tree-nodes',
  'first-entry',
  'last-entry',
  'recorded-first-entry-id',
]);

async function canonicalValue(client: Redis, type: string, key: Buffer): Promise<string> {
  const commands = canonicalCommands(type, key);
  const pipeline = client.pipeline();
  for (const [name, ...args] of commands) pipeline.callBuffer(name as string, ...args);
  const results = (await pipeline.exec()) ?? [];
  const replies = results.map(([error, value]) => {
    if (error) throw error;
    return value as Reply;
  });
  switch (type) {
    case 'hash':
      return pairs(replies[0] as Reply[])
        .sort()
        .join('|');
    case 'set':
      return (replies[0] as Reply[]).map(render).sort().join('|');
    case 'stream': {
      const info = pairs(replies[1] as Reply[]).filter((pair) => {
        const field = Buffer.from(pair.split('=')[0]!, 'hex').toString();
        return !VOLATILE_STREAM_FIELDS.has(field);
      });
      const groups = (replies[2] as Reply[]).map((group) =>
        pairs(group as Reply[])
          .filter((pair) => Buffer.from(pair.split('=')[0]!, 'hex').toString() !== 'lag')
          .sort()
          .join(','),
      );
      return `${render(replies[0]!)}#${info.sort().join(',')}#${groups.sort().join(';')}`;
    }
    default:
      return render(replies[0]!);
  }
}

async function describeKeys(client: Redis, keys: Buffer[]): Promise<{ type: string; ttl: number }[]> {
  const pipeline = client.pipeline();
  for (const key of keys) {
    pipeline.type(key);
    pipeline.pttl(key);
  }
  const results = (await pipeline.exec()) ?? [];
  return keys.map((_, index) => ({
    type: String(results[index * 2]?.[1]),
    ttl: Number(results[index * 2 + 1]?.[1]),
  }));
}

async function functionLibraries(client: Redis): Promise<string> {
  try {
    const libraries = (await client.call('FUNCTION', 'LIST', 'WITHCODE')) as unknown[];
    return JSON.stringify(libraries);
  } catch {
    return 'unsupported';
  }
}

/**
 * Compares two Redis servers key by key across databases: type, canonical value (order-insensitive
 * for hashes and sets) and TTL within a tolerance. Reports the first differences.
 */
export async function compareRedisDatasets(
  source: Redis,
  target: Redis,
  options: CompareDatasetsOptions = {},
): Promise<DatasetComparison> {
  const tolerance = options.ttlToleranceMs ?? 2000;
  const maxDifferences = options.maxDifferences ?? 20;
  const batchSize = options.batchSize ?? 200;
  const differences: string[] = [];
  const note = (text: string): boolean => {
    if (differences.length < maxDifferences) differences.push(text);
    return differences.length >= maxDifferences;
  };
  const databases =
    options.databases ??
    [...new Set([...(await databasesWithKeys(source)), ...(await databasesWithKeys(target))])].sort();
  let keyCount = 0;
  const sourceDb = source.duplicate();
  const targetDb = target.duplicate();
  try {
    for (const database of databases) {
      await sourceDb.select(database);
      await targetDb.select(database);
      const keep = (key: Buffer): boolean => !options.ignoreKey?.(key.toString('utf8'));
      const sourceKeys = [...(await scanAll(sourceDb)).values()].filter(keep);
      const targetKeys = await scanAll(targetDb);
      keyCount += sourceKeys.length;
      const sourceHex = new Set(sourceKeys.map((key) => key.toString('hex')));
      for (const [hex, key] of targetKeys) {
        if (keep(key) && !sourceHex.has(hex) && note(`db${database}: key ${printable(key)} only on target`))
          break;
      }
      for (
        let start = 0;
        start < sourceKeys.length && differences.length < maxDifferences;
        start += batchSize
      ) {
        const batch = sourceKeys.slice(start, start + batchSize);
        const [sourceMeta, targetMeta] = await Promise.all([
          describeKeys(sourceDb, batch),
          describeKeys(targetDb, batch),
        ]);
        for (let index = 0; index < batch.length; index++) {
          const key = batch[index]!;
          const left = sourceMeta[index]!;
          const right = targetMeta[index]!;
          const name = `db${database}: key ${printable(key)}`;
          if (left.type === 'none') continue; // expired or deleted while comparing
          if (right.type !== left.type) {
            if (note(`${name} type ${left.type} on source, ${right.type} on target`)) break;
            continue;
          }
          const ttlMatches =
            left.ttl < 0
              ? right.ttl === left.ttl
              : right.ttl >= 0 && Math.abs(right.ttl - left.ttl) <= tolerance;
          if (!ttlMatches && note(`${name} ttl ${left.ttl} ms on source, ${right.ttl} ms on target`)) break;
          const [leftValue, rightValue] = await Promise.all([
            canonicalValue(sourceDb, left.type, key),
            canonicalValue(targetDb, right.type, key),
          ]);
          if (leftValue !== rightValue && note(`${name} (${left.type}) value differs`)) break;
        }
      }
    }
    if ((options.compareFunctions ?? true) && differences.length < maxDifferences) {
      const [left, right] = await Promise.all([functionLibraries(sourceDb), functionLibraries(targetDb)]);
      if (left !== right) note('function libraries differ');
    }
  } finally {
    sourceDb.disconnect();
    targetDb.disconnect();
  }
  return { equal: differences.length === 0, keyCount, differences };
}
