import { loadConfig } from '@kvforge/common-http';
import {
  type RedisClusterProcess,
  type RedisProcess,
  startRedis,
  startRedisCluster,
  waitFor,
} from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gunyuConfigSchema } from '../src/config/config-schema';
import { slotOfKey } from '../src/core/cluster/key-slot';
import { SyncService } from '../src/sync-service';
import {
  clusterSide,
  compareSides,
  type DataSide,
  fillKeys,
  flushCluster,
  replicationOffset,
  reshardSlots,
  standaloneSide,
  startLiveWrites,
} from './cluster-support';

// Standalone source → 3-master cluster target (one replica each, for the target failover).
let source: RedisProcess;
let target: RedisClusterProcess;
let sourceClient: Redis;
let targetAdmin: Redis;
let service: SyncService | undefined;

beforeAll(async () => {
  [source, target] = await Promise.all([
    startRedis(),
    startRedisCluster({ masters: 3, replicasPerMaster: 1 }),
  ]);
  sourceClient = source.client();
  targetAdmin = (target.nodes[0] as RedisProcess).client();
}, 120_000);

afterAll(async () => {
  await service?.stop();
  sourceClient?.disconnect();
  targetAdmin?.disconnect();
  await Promise.all([source?.stop(), target?.stop()]);
});

beforeEach(async () => {
  await service?.stop();
  service = undefined;
  await sourceClient.flushall();
  await flushCluster(target, targetAdmin);
});

function startService(): SyncService {
  const config = loadConfig(gunyuConfigSchema, [
    {
      server: { listen: '127.0.0.1:0' },
      input: { redis: { addresses: [source.address] } },
      output: {
        redis: { type: 'cluster', addresses: target.addresses.slice(0, 2) },
        replay: { replayRdbParallel: 4, updateCheckpointTicker: '100ms' },
      },
    },
  ]);
  service = new SyncService(config, undefined, { syncer: { reconnectBackoffMs: 200 } });
  service.start();
  return service;
}

async function caughtUp(sync: SyncService): Promise<void> {
  const syncer = sync.syncers[0];
  if (!syncer) throw new Error('no syncer');
  await waitFor(
    async () =>
      syncer.counters.syncPhase === 2 && syncer.counters.ackOffset >= (await replicationOffset(sourceClient)),
    { timeoutMs: 60_000, message: 'syncer did not catch up' },
  );
}

async function expectEqual(ignore?: (key: string) => boolean): Promise<number> {
  const targetSide = await clusterSide(target, targetAdmin);
  try {
    const sourceSide: DataSide = standaloneSide(sourceClient);
    const result = await compareSides(sourceSide, targetSide, ignore ? { ignore } : {});
    expect(result.differences).toEqual([]);
    return result.keyCount;
  } finally {
    targetSide.close();
  }
}

describe('standalone source → cluster target', () => {
  it('routes by the same slots as Redis (CLUSTER KEYSLOT)', async () => {
    for (const key of ['foo', 'k:1', '{tag}x', 'a{}b', 'redis-gunyu-checkpoint'])
      expect(slotOfKey(key)).toBe(Number(await targetAdmin.call('CLUSTER', 'KEYSLOT', key)));
  });

  it('full sync of 30 000 keys of every type with live writes (incl. cross-slot MSET) lands key by key', async () => {
    await fillKeys(standaloneSide(sourceClient), 30_000);
    const sync = startService();
    const writes = startLiveWrites(sourceClient, 'live', { crossSlot: true });
    await waitFor(() => sync.syncers[0]?.counters.syncPhase === 2, {
      timeoutMs: 60_000,
      message: 'full sync',
    });
    await waitFor(() => writes.acknowledged > 2000, { timeoutMs: 60_000, message: 'live writes' });
    const { acknowledged } = await writes.stop();
    expect(acknowledged).toBeGreaterThan(2000);
    await caughtUp(sync);
    const counters = sync.syncers[0]?.counters;
    expect(counters?.fullSyncs).toBe(1);
    expect(counters?.cluster.splitCommands).toBeGreaterThan(0);
    expect(sync.status()[0]?.Transaction).toBe(false);
    expect(await expectEqual()).toBeGreaterThan(30_000);
  }, 180_000);

  it('splits cross-slot DEL/MSET exactly and counts an unsplittable cross-slot command', async () => {
    const sync = startService();
    await waitFor(() => sync.syncers[0]?.counters.syncPhase === 2, {
      timeoutMs: 60_000,
      message: 'stream phase',
    });
    const keys = ['x:a', 'x:b', 'x:c', 'x:d', 'x:e'];
    expect(new Set(keys.map(slotOfKey)).size).toBeGreaterThan(1);
    await sourceClient.mset(...keys.flatMap((key, index) => [key, `v${index}`]));
    await sourceClient.del('x:a', 'x:c', 'x:missing');
    expect(slotOfKey('rename:src')).not.toBe(slotOfKey('rename:dst'));
    await sourceClient.set('rename:src', 'moved');
    await sourceClient.rename('rename:src', 'rename:dst');
    await sourceClient.set('after', 'rename');
    await caughtUp(sync);
    const counters = sync.syncers[0]?.counters;
    expect(counters?.cluster.crossSlot.get('RENAME')).toBe(1);
    expect(counters?.cluster.splitCommands).toBe(2);
    // Everything but the refused RENAME landed exactly; the target still has the old key.
    await expectEqual((key) => key.startsWith('redis-gunyu-checkpoint') || key.startsWith('rename:'));
    const targetSide = await clusterSide(target, targetAdmin);
    try {
      expect(await targetSide.clientOf('rename:src').get('rename:src')).toBe('moved');
      expect(await targetSide.clientOf('x:b').get('x:b')).toBe('v1');
      expect(await targetSide.clientOf('x:a').exists('x:a')).toBe(0);
    } finally {
      targetSide.close();
    }
  }, 120_000);

  it('follows a slot migration and a failover of the target under live writes (MOVED/ASK)', async () => {
    await fillKeys(standaloneSide(sourceClient), 5000);
    const sync = startService();
    await waitFor(() => sync.syncers[0]?.counters.syncPhase === 2, {
      timeoutMs: 60_000,
      message: 'stream phase',
    });
    const writes = startLiveWrites(sourceClient, 'live');
    const {
      topology,
      from,
      result: resharded,
    } = await reshardSlots(targetAdmin, 300, { extraArgs: ['--cluster-pipeline', '20'], timeoutMs: 120_000 });
    expect(resharded.status, resharded.stderr).toBe(0);
    // A key in a slot that moved, written after the migration: the syncer's map is stale → MOVED.
    const movedSlot = from.slots[0]?.[0] as number;
    let movedKey = '';
    for (let n = 0; !movedKey; n++)
      if (slotOfKey(`moved:${n}`) < movedSlot + 300 && slotOfKey(`moved:${n}`) >= movedSlot)
        movedKey = `moved:${n}`;
    await sourceClient.set(movedKey, 'after reshard');
    // Target failover: the replica of the third shard takes over (graceful CLUSTER FAILOVER).
    const third = topology.shards[2];
    const replica = target.nodes.find((node) => node.address === third?.replicas[0]?.address);
    if (!replica) throw new Error('no replica');
    const replicaClient = replica.client();
    try {
      await replicaClient.call('CLUSTER', 'FAILOVER');
      await waitFor(async () => /role:master/.test(await replicaClient.info('replication')), {
        timeoutMs: 30_000,
        message: 'target failover',
      });
    } finally {
      replicaClient.disconnect();
    }
    await waitFor(() => writes.acknowledged > 3000, { timeoutMs: 60_000, message: 'live writes' });
    await writes.stop();
    await caughtUp(sync);
    const counters = sync.syncers[0]?.counters;
    expect((counters?.cluster.moved ?? 0) + (counters?.cluster.ask ?? 0)).toBeGreaterThan(0);
    expect(counters?.fullSyncs).toBe(1);
    expect(await expectEqual()).toBeGreaterThan(5000);
  }, 240_000);
});
