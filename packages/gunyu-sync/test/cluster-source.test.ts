import { loadConfig } from '@kvforge/common-http';
import {
  type RedisClusterProcess,
  type RedisProcess,
  startRedis,
  startRedisCluster,
  waitFor,
} from '@kvforge/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gunyuConfigSchema } from '../src/config/config-schema';
import { parseClusterNodes } from '../src/core/cluster/cluster-topology';
import { isLeaseKey } from '../src/fencing/target-lease';
import { SyncService } from '../src/sync-service';
import {
  clusterSide,
  compareSides,
  fillKeys,
  flushCluster,
  replicationOffset,
  standaloneSide,
  startLiveWrites,
} from './cluster-support';

// One 3-master source with a replica each, shared by the file; a cluster and a standalone target.
let source: RedisClusterProcess;
let clusterTarget: RedisClusterProcess;
let standaloneTarget: RedisProcess;
let sourceAdmin: Redis;
let clusterTargetAdmin: Redis;
let standaloneTargetClient: Redis;
let service: SyncService | undefined;

beforeAll(async () => {
  [source, clusterTarget, standaloneTarget] = await Promise.all([
    startRedisCluster({ masters: 3, replicasPerMaster: 1 }),
    startRedisCluster({ masters: 3 }),
    startRedis(),
  ]);
  sourceAdmin = (source.nodes[0] as RedisProcess).client();
  clusterTargetAdmin = (clusterTarget.nodes[0] as RedisProcess).client();
  standaloneTargetClient = standaloneTarget.client();
}, 120_000);

afterAll(async () => {
  await service?.stop();
  sourceAdmin?.disconnect();
  clusterTargetAdmin?.disconnect();
  standaloneTargetClient?.disconnect();
  await Promise.all([source?.stop(), clusterTarget?.stop(), standaloneTarget?.stop()]);
});

beforeEach(async () => {
  await service?.stop();
  service = undefined;
  await Promise.all([
    flushCluster(source, sourceAdmin),
    flushCluster(clusterTarget, clusterTargetAdmin),
    standaloneTargetClient.flushall(),
  ]);
});

function startService(output: { type: 'cluster' | 'standalone'; addresses: string[] }): SyncService {
  const config = loadConfig(gunyuConfigSchema, [
    {
      server: { listen: '127.0.0.1:0', checkRedisTypologyTicker: '1s' },
      input: { redis: { type: 'cluster', addresses: [source.addresses[0] as string] } },
      output: { redis: output, replay: { replayRdbParallel: 2, updateCheckpointTicker: '100ms' } },
    },
  ]);
  service = new SyncService(config, undefined, { syncer: { reconnectBackoffMs: 200 } });
  service.start();
  return service;
}

/** Every shard's pipeline streams and has applied everything its shard's master wrote. */
async function caughtUp(sync: SyncService): Promise<void> {
  await sync.ready();
  await waitFor(
    async () => {
      for (const syncer of sync.syncers) {
        if (syncer.counters.syncPhase !== 2) return false;
        // The shard's current master (the watch keeps probeEndpoint on it across failovers).
        const endpoint = syncer.options.probeEndpoint ?? syncer.options.input;
        const master = new Redis({
          host: endpoint.host,
          port: endpoint.port,
          lazyConnect: true,
          maxRetriesPerRequest: 0,
        });
        master.on('error', () => {});
        try {
          if (syncer.counters.ackOffset < (await replicationOffset(master))) return false;
        } finally {
          master.disconnect();
        }
      }
      return sync.syncers.length > 0;
    },
    { timeoutMs: 90_000, message: 'shards did not catch up' },
  );
}

async function expectEqual(target: 'cluster' | 'standalone', admin = sourceAdmin): Promise<number> {
  const sourceSide = await clusterSide(source, admin);
  const targetSide = target === 'cluster' ? await clusterSide(clusterTarget, clusterTargetAdmin) : undefined;
  try {
    const result = await compareSides(sourceSide, targetSide ?? standaloneSide(standaloneTargetClient));
    expect(result.differences).toEqual([]);
    return result.keyCount;
  } finally {
    sourceSide.close();
    targetSide?.close();
  }
}

describe('cluster source', () => {
  it('3 shards with replicas → 3-master cluster: 30 000 keys of every type + live writes during the full sync', async () => {
    const sourceSide = await clusterSide(source, sourceAdmin);
    await fillKeys(sourceSide, 30_000);
    sourceSide.close();
    const sync = startService({ type: 'cluster', addresses: [clusterTarget.addresses[0] as string] });
    const writes = startLiveWrites(source.client(), 'live');
    await sync.ready();
    expect(sync.syncers).toHaveLength(3);
    await waitFor(() => sync.syncers.every((syncer) => syncer.counters.syncPhase === 2), {
      timeoutMs: 90_000,
      message: 'full syncs',
    });
    await waitFor(() => writes.acknowledged > 2000, { timeoutMs: 60_000, message: 'live writes' });
    await writes.stop();
    await caughtUp(sync);
    // prefer_slave: every shard is synced from its replica, one status entry per shard.
    const topology = parseClusterNodes(String(await sourceAdmin.call('CLUSTER', 'NODES')));
    const replicaAddresses = topology.nodes
      .filter((node) => node.role === 'replica')
      .map((node) => node.address);
    expect(
      sync
        .status()
        .map((entry) => entry.Input)
        .sort(),
    ).toEqual(replicaAddresses.sort());
    // Both clusters have the same three slot ranges: cluster → cluster transaction mode, one script per batch.
    for (const entry of sync.status()) expect(entry.Transaction).toBe(true);
    for (const syncer of sync.syncers) expect(syncer.counters.transactionBatches).toBeGreaterThan(0);
    for (const syncer of sync.syncers) expect(syncer.counters.fullSyncs).toBe(1);
    expect(new Set(sync.syncers.map((syncer) => syncer.options.replay.checkpointName)).size).toBe(3);
    expect(await expectEqual('cluster')).toBeGreaterThan(30_000);
  }, 240_000);

  it('3 shards → a standalone target in transaction mode, each shard with its own checkpoint key', async () => {
    const sourceSide = await clusterSide(source, sourceAdmin);
    await fillKeys(sourceSide, 5000);
    sourceSide.close();
    const sync = startService({ type: 'standalone', addresses: [standaloneTarget.address] });
    const writes = startLiveWrites(source.client(), 'live');
    await sync.ready();
    await waitFor(() => writes.acknowledged > 2000, { timeoutMs: 60_000, message: 'live writes' });
    await writes.stop();
    await caughtUp(sync);
    for (const entry of sync.status()) expect(entry.Transaction).toBe(true);
    const checkpoints = (await standaloneTargetClient.keys('redis-gunyu-checkpoint-*')).filter(
      (key) => key !== 'redis-gunyu-checkpoint-hash' && !isLeaseKey(key),
    );
    expect(checkpoints.sort()).toEqual(
      sync.syncers.map((syncer) => syncer.options.replay.checkpointName).sort(),
    );
    expect(await expectEqual('standalone')).toBeGreaterThan(5000);
  }, 240_000);

  // Last in the file: it kills a source master for good (a restarted one would full-sync from its new master).
  it('follows CLUSTER FAILOVER and kill -9 of a source master under live writes: only the affected pipeline restarts, +CONTINUE, no new full sync', async () => {
    const sourceSide = await clusterSide(source, sourceAdmin);
    await fillKeys(sourceSide, 5000);
    sourceSide.close();
    const sync = startService({ type: 'cluster', addresses: [clusterTarget.addresses[0] as string] });
    const writer = source.client();
    const writes = startLiveWrites(writer, 'live');
    await sync.ready();
    await waitFor(() => sync.syncers.every((syncer) => syncer.counters.syncPhase === 2), {
      timeoutMs: 90_000,
      message: 'full syncs',
    });
    const topology = parseClusterNodes(String(await sourceAdmin.call('CLUSTER', 'NODES')));
    const [first, second, third] = topology.shards;
    if (!first || !second || !third) throw new Error('expected 3 shards');
    const processOf = (address: string | undefined): RedisProcess => {
      const node = source.nodes.find((candidate) => candidate.address === address);
      if (!node) throw new Error(`no node ${address}`);
      return node;
    };
    const killed = processOf(second.master.address);
    const survivors = source.nodes.filter((node) => node !== killed);
    const syncFull = async (): Promise<number> => {
      let total = 0;
      for (const node of survivors) {
        const client = node.client();
        try {
          total += Number(/sync_full:(\d+)/.exec(await client.info('stats'))?.[1] ?? 0);
        } finally {
          client.disconnect();
        }
      }
      return total;
    };
    const fullBefore = await syncFull();
    const syncerOf = (address: string | undefined) =>
      sync.syncers.find((syncer) => syncer.options.inputAddress === address);
    const firstSyncer = syncerOf(first.replicas[0]?.address);
    const secondSyncer = syncerOf(second.replicas[0]?.address);
    const thirdSyncer = syncerOf(third.replicas[0]?.address);
    if (!firstSyncer || !secondSyncer || !thirdSyncer) throw new Error('expected one syncer per replica');

    // 1. Graceful failover of shard 1: its replica (synced from) becomes master; prefer_slave moves
    //    the pipeline to the old master, now a replica that kept the old replid as master_replid2.
    const promoted = processOf(first.replicas[0]?.address).client();
    try {
      await promoted.call('CLUSTER', 'FAILOVER');
      await waitFor(async () => /role:master/.test(await promoted.info('replication')), {
        timeoutMs: 30_000,
        message: 'source failover',
      });
    } finally {
      promoted.disconnect();
    }
    await waitFor(
      () => firstSyncer.options.inputAddress === first.master.address && firstSyncer.counters.syncPhase === 2,
      {
        timeoutMs: 60_000,
        message: 'pipeline of shard 1 re-targeted',
      },
    );
    expect(firstSyncer.counters.cluster.topologyRestarts).toBe(1);

    // 2. kill -9 of shard 2's master: its replica (synced from) is promoted and keeps the old replid.
    const incrementalBefore = secondSyncer.counters.incrementalSyncs;
    await killed.kill('SIGKILL');
    const replicaClient = processOf(second.replicas[0]?.address).client();
    try {
      await waitFor(async () => /role:master/.test(await replicaClient.info('replication')), {
        timeoutMs: 60_000,
        message: 'replica promoted',
      });
    } finally {
      replicaClient.disconnect();
    }
    await waitFor(
      () =>
        secondSyncer.counters.incrementalSyncs > incrementalBefore && secondSyncer.counters.syncPhase === 2,
      {
        timeoutMs: 60_000,
        message: 'pipeline of shard 2 resumed',
      },
    );
    await waitFor(() => writes.acknowledged > 4000, { timeoutMs: 60_000, message: 'live writes' });
    await writes.stop();
    await caughtUp(sync);
    expect(await syncFull()).toBe(fullBefore);
    for (const syncer of sync.syncers) expect(syncer.counters.fullSyncs).toBe(1);
    expect(thirdSyncer.counters.cluster.topologyRestarts).toBe(0);
    expect(secondSyncer.counters.cluster.topologyRestarts).toBe(0);
    const survivorAdmin = (survivors[0] as RedisProcess).client();
    try {
      expect(await expectEqual('cluster', survivorAdmin)).toBeGreaterThan(5000);
    } finally {
      survivorAdmin.disconnect();
    }
  }, 300_000);
});
