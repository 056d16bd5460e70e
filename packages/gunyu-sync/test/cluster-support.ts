import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import type { RedisClusterProcess, RedisProcess } from '@kvforge/testing';
import type { Redis } from 'ioredis';
import {
  type ClusterShard,
  type ClusterTopology,
  parseClusterNodes,
} from '../src/core/cluster/cluster-topology';
import { keySlot } from '../src/core/cluster/key-slot';

/** A side of a comparison: a standalone server or every master of a cluster, read node by node. */
export interface DataSide {
  /** Clients of the nodes that hold the data (the masters). */
  clients: Redis[];
  /** The client whose node serves a key. */
  clientOf(key: string | Buffer): Redis;
}

export function standaloneSide(client: Redis): DataSide {
  return { clients: [client], clientOf: () => client };
}

/** The masters of a cluster as they are now (CLUSTER NODES), one client each (closed by `close`). */
export async function clusterSide(
  cluster: RedisClusterProcess,
  admin: Redis,
): Promise<DataSide & { close(): void }> {
  const topology = parseClusterNodes(String(await admin.call('CLUSTER', 'NODES')));
  const byAddress = new Map<string, RedisProcess>(cluster.nodes.map((node) => [node.address, node]));
  const owners: Redis[] = [];
  const clients = topology.shards.map((shard) => {
    const node = byAddress.get(shard.master.address);
    if (!node) throw new Error(`unknown master ${shard.master.address}`);
    const client = node.client();
    for (const [from, to] of shard.slots) for (let slot = from; slot <= to; slot++) owners[slot] = client;
    return client;
  });
  return {
    clients,
    clientOf: (key) => owners[keySlot(typeof key === 'string' ? Buffer.from(key) : key)] as Redis,
    close: () => {
      for (const client of clients) client.disconnect();
    },
  };
}

/** FLUSHALL on every master of a cluster as it is now. */
export async function flushCluster(cluster: RedisClusterProcess, admin: Redis): Promise<void> {
  const side = await clusterSide(cluster, admin);
  try {
    await Promise.all(side.clients.map((client) => client.flushall()));
  } finally {
    side.close();
  }
}

/**
 * Moves `slots` slots from the first shard's master to the second one's with `redis-cli --cluster
 * reshard` (extra arguments appended); the caller asserts `result.status`. `topology`: the layout before.
 */
export async function reshardSlots(
  admin: Redis,
  slots: number,
  options: { extraArgs?: string[]; timeoutMs: number },
): Promise<{
  topology: ClusterTopology;
  from: ClusterShard;
  to: ClusterShard;
  result: SpawnSyncReturns<string>;
}> {
  const topology = parseClusterNodes(String(await admin.call('CLUSTER', 'NODES')));
  const [from, to] = topology.shards;
  if (!from || !to) throw new Error('expected 3 shards');
  const result = spawnSync(
    'redis-cli',
    [
      '--cluster',
      'reshard',
      from.master.address,
      '--cluster-from',
      from.master.id,
      '--cluster-to',
      to.master.id,
      '--cluster-slots',
      String(slots),
      '--cluster-yes',
      ...(options.extraArgs ?? []),
    ],
    { encoding: 'utf8', timeout: options.timeoutMs },
  );
  return { topology, from, to, result };
}

interface KeyState {
  type: string;
  ttl: number;
  value: string;
}

async function scanKeys(client: Redis): Promise<Buffer[]> {
  const keys: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, batch] = (await client.callBuffer('SCAN', cursor, 'COUNT', '1000')) as [Buffer, Buffer[]];
    cursor = next.toString();
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

type Reply = Buffer | number | null | Reply[];
const render = (reply: Reply): string =>
  reply === null
    ? 'nil'
    : Buffer.isBuffer(reply)
      ? reply.toString('hex')
      : Array.isArray(reply)
        ? `[${reply.map(render).join(',')}]`
        : String(reply);

const READ: Record<string, (key: Buffer) => (string | Buffer)[]> = {
  string: (key) => ['GET', key],
  list: (key) => ['LRANGE', key, '0', '-1'],
  hash: (key) => ['HGETALL', key],
  set: (key) => ['SMEMBERS', key],
  zset: (key) => ['ZRANGE', key, '0', '-1', 'WITHSCORES'],
  stream: (key) => ['XRANGE', key, '-', '+'],
};

function canonical(type: string, reply: Reply): string {
  if (type === 'set') return (reply as Reply[]).map(render).sort().join('|');
  if (type === 'hash') {
    const pairs: string[] = [];
    const list = reply as Reply[];
    for (let i = 0; i + 1 < list.length; i += 2) pairs.push(`${render(list[i]!)}=${render(list[i + 1]!)}`);
    return pairs.sort().join('|');
  }
  return render(reply);
}

/** Every key of a side with its type, absolute expiry (PEXPIRETIME, so read times do not matter) and a canonical value (DB 0). */
export async function snapshot(
  side: DataSide,
  ignore: (key: string) => boolean,
): Promise<Map<string, KeyState>> {
  const states = new Map<string, KeyState>();
  for (const client of side.clients) {
    const keys = (await scanKeys(client)).filter((key) => !ignore(key.toString('latin1')));
    for (let start = 0; start < keys.length; start += 500) {
      const batch = keys.slice(start, start + 500);
      const meta = client.pipeline();
      for (const key of batch) meta.type(key).call('PEXPIRETIME', key);
      const metaReplies = (await meta.exec()) ?? [];
      const values = client.pipeline();
      batch.forEach((key, index) => {
        const type = String(metaReplies[index * 2]?.[1]);
        const [name, ...args] = (READ[type] ?? ((k: Buffer) => ['DUMP', k]))(key);
        values.callBuffer(name as string, ...args);
      });
      const valueReplies = (await values.exec()) ?? [];
      batch.forEach((key, index) => {
        const type = String(metaReplies[index * 2]?.[1]);
        states.set(key.toString('latin1'), {
          type,
          ttl: Number(metaReplies[index * 2 + 1]?.[1]),
          value: canonical(type, valueReplies[index]?.[1] as Reply),
        });
      });
    }
  }
  return states;
}

/** Key-by-key differences (type, value, TTL within `ttlToleranceMs`), at most 20. */
export async function compareSides(
  source: DataSide,
  target: DataSide,
  options: { ignore?: (key: string) => boolean; ttlToleranceMs?: number } = {},
): Promise<{ keyCount: number; differences: string[] }> {
  const ignore = options.ignore ?? ((key: string) => key.startsWith('redis-gunyu-checkpoint'));
  const tolerance = options.ttlToleranceMs ?? 2000;
  const [left, right] = await Promise.all([snapshot(source, ignore), snapshot(target, ignore)]);
  const differences: string[] = [];
  for (const [key, state] of left) {
    if (differences.length >= 20) break;
    const other = right.get(key);
    if (!other) differences.push(`${key}: missing on target`);
    else if (other.type !== state.type) differences.push(`${key}: type ${state.type} vs ${other.type}`);
    else if (other.value !== state.value) differences.push(`${key}: value differs`);
    else if (state.ttl < 0 !== other.ttl < 0 || Math.abs(state.ttl - other.ttl) > tolerance)
      differences.push(`${key}: ttl ${state.ttl} vs ${other.ttl}`);
  }
  for (const key of right.keys()) {
    if (differences.length >= 20) break;
    if (!left.has(key)) differences.push(`${key}: only on target`);
  }
  return { keyCount: left.size, differences };
}

/**
 * Writes `count` keys of every type (strings, ints, TTLs, lists, hashes, sets, intsets, zsets,
 * streams), spread over all slots, through per-node pipelines of `side`.
 */
export async function fillKeys(side: DataSide, count: number, prefix = 'k'): Promise<void> {
  const pipelines = new Map<Redis, ReturnType<Redis['pipeline']>>();
  const pending = new Map<Redis, number>();
  const flush = async (client: Redis): Promise<void> => {
    const pipeline = pipelines.get(client);
    if (!pipeline) return;
    pipelines.delete(client);
    pending.set(client, 0);
    await pipeline.exec();
  };
  for (let i = 0; i < count; i++) {
    const key = `${prefix}:${i}`;
    const client = side.clientOf(key);
    let pipeline = pipelines.get(client);
    if (!pipeline) {
      pipeline = client.pipeline();
      pipelines.set(client, pipeline);
    }
    switch (i % 9) {
      case 0:
        pipeline.set(key, `value-${i}`);
        break;
      case 1:
        pipeline.set(key, String(i));
        break;
      case 2:
        pipeline.set(key, `ttl-${i}`, 'PX', 3_600_000 + i);
        break;
      case 3:
        pipeline.rpush(key, 'a', String(i), 'c'.repeat(i % 200));
        break;
      case 4:
        pipeline.hset(key, 'f1', `v${i}`, 'f2', String(i));
        break;
      case 5:
        pipeline.sadd(key, `m${i}`, 'x', 'y');
        break;
      case 6:
        pipeline.sadd(key, 1, 2, i);
        break;
      case 7:
        pipeline.zadd(key, i, 'one', i / 3, 'two');
        break;
      default:
        pipeline.xadd(key, '*', 'field', String(i));
    }
    const queued = (pending.get(client) ?? 0) + 1;
    pending.set(client, queued);
    if (queued >= 500) await flush(client);
  }
  for (const client of [...pipelines.keys()]) await flush(client);
}

/** The replication offset of a node (INFO replication). */
export async function replicationOffset(client: Redis): Promise<number> {
  const info = await client.info('replication');
  return Number(/master_repl_offset:(\d+)/.exec(info)?.[1] ?? 0);
}

/** What a live writer may use: an ioredis Redis or Cluster client. */
interface WriteClient {
  incr(key: string): Promise<number>;
  set(key: string, value: string): Promise<unknown>;
  hset(key: string, field: string, value: string): Promise<number>;
  rpush(key: string, value: string): Promise<number>;
  del(key: string): Promise<number>;
  pexpire(key: string, ms: number): Promise<number>;
  mset(...pairs: string[]): Promise<unknown>;
}

/**
 * Writes single-key commands (INCR, SET, HSET, RPUSH, DEL, PEXPIRE; cross-slot MSET/DEL on a
 * standalone source) in groups of 20 until stopped; counts acknowledged and failed writes.
 */
export function startLiveWrites(
  client: WriteClient,
  prefix: string,
  options: { crossSlot?: boolean } = {},
): { stop(): Promise<{ acknowledged: number; failed: number }>; readonly acknowledged: number } {
  let running = true;
  let acknowledged = 0;
  let failed = 0;
  let i = 0;
  const write = (n: number): Promise<unknown> => {
    switch (n % 8) {
      case 0:
        return client.incr(`${prefix}:counter:${n % 50}`);
      case 1:
        return client.set(`${prefix}:s:${n % 500}`, `v${n}`);
      case 2:
        return client.hset(`${prefix}:h:${n % 30}`, `f${n % 7}`, `v${n}`);
      case 3:
        return client.rpush(`${prefix}:l:${n % 20}`, `e${n}`);
      case 4:
        return client.del(`${prefix}:s:${(n + 250) % 500}`);
      case 5:
        return client.pexpire(`${prefix}:h:${n % 30}`, 3_600_000);
      case 6:
        return options.crossSlot
          ? client.mset(`${prefix}:m:${n % 40}`, `v${n}`, `${prefix}:n:${n % 41}`, `w${n}`)
          : client.set(`${prefix}:m:${n % 40}`, `v${n}`);
      default:
        return client.incr(`${prefix}:counter:${(n * 7) % 50}`);
    }
  };
  const loop = (async () => {
    while (running) {
      const group = Array.from({ length: 20 }, () => write(i++));
      const results = await Promise.allSettled(group);
      for (const result of results) {
        if (result.status === 'fulfilled') acknowledged++;
        else failed++;
      }
    }
  })();
  return {
    get acknowledged() {
      return acknowledged;
    },
    async stop() {
      running = false;
      await loop;
      return { acknowledged, failed };
    },
  };
}
