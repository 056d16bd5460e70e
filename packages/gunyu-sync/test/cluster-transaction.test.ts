import { fileURLToPath } from 'node:url';
import { loadConfig } from '@kvforge/common-http';
import {
  type ManagedProcess,
  type RedisClusterProcess,
  type RedisProcess,
  startProcess,
  startRedisCluster,
  waitFor,
} from '@kvforge/testing';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gunyuConfigSchema } from '../src/config/config-schema';
import { parseClusterNodes } from '../src/core/cluster/cluster-topology';
import { slotOfKey } from '../src/core/cluster/key-slot';
import { ClusterTransactionBatch } from '../src/replay/cluster-transaction-batch';
import { TargetConnection } from '../src/replay/target-connection';
import { SyncService } from '../src/sync-service';
import { clusterSide, compareSides, flushCluster, replicationOffset, reshardSlots } from './cluster-support';

// Cluster → cluster transaction mode: two 3-master clusters with the same slot ranges, shared by the
// file. The kill -9 test runs first; the last test moves a slot on the target for good.
const script = fileURLToPath(new URL('./fixtures/cluster-syncer-process.ts', import.meta.url));
let source: RedisClusterProcess;
let target: RedisClusterProcess;
let sourceAdmin: Redis;
let targetAdmin: Redis;
let writer: Cluster;
let child: ManagedProcess | undefined;
let service: SyncService | undefined;

/** A counter in slot 0: the slot the last test migrates on the target while it is written. */
const HOT_COUNTER = (() => {
  for (let n = 0; ; n++) if (slotOfKey(`hot:${n}`) === 0) return `hot:${n}`;
})();
const BACKLOG_BYTES = 64 * 1024 * 1024;
const COUNTERS = [HOT_COUNTER, ...Array.from({ length: 60 }, (_, n) => `counter:${n}`)];

beforeAll(async () => {
  // A restarted syncer resumes with +CONTINUE only while the source backlog still holds its checkpoint: a
  // syncer starved on a busy machine may lag MBs behind the live INCRs when it is killed (the 1 MB default).
  [source, target] = await Promise.all([
    startRedisCluster({ extraArgs: ['--repl-backlog-size', String(BACKLOG_BYTES)] }),
    startRedisCluster(),
  ]);
  sourceAdmin = (source.nodes[0] as RedisProcess).client();
  targetAdmin = (target.nodes[0] as RedisProcess).client();
  writer = source.client();
}, 120_000);

afterAll(async () => {
  await activeWrites?.stop();
  writer?.disconnect();
  await child?.stop();
  await service?.stop();
  sourceAdmin?.disconnect();
  targetAdmin?.disconnect();
  await Promise.all([source?.stop(), target?.stop()]);
});

beforeEach(async () => {
  await flushCluster(source, sourceAdmin);
  await flushCluster(target, targetAdmin);
});

/** The running writer, stopped by afterAll should a test fail before it stops it. */
let activeWrites: { stop(): Promise<unknown> } | undefined;

/** INCRs over COUNTERS (every shard, slot 0 included) until stopped; counts the acknowledged ones per key. */
function startIncrements(): { stop(): Promise<Map<string, number>>; readonly acknowledged: number } {
  const acknowledged = new Map<string, number>();
  let total = 0;
  let running = true;
  let next = 0;
  const loop = (async () => {
    while (running) {
      const keys = Array.from({ length: 20 }, () => COUNTERS[next++ % COUNTERS.length] as string);
      const results = await Promise.allSettled(keys.map((key) => writer.incr(key)));
      results.forEach((result, index) => {
        if (result.status !== 'fulfilled') return;
        const key = keys[index] as string;
        acknowledged.set(key, (acknowledged.get(key) ?? 0) + 1);
        total++;
      });
    }
  })();
  const writes = {
    get acknowledged() {
      return total;
    },
    async stop() {
      running = false;
      await loop;
      activeWrites = undefined;
      return acknowledged;
    },
  };
  activeWrites = writes;
  return writes;
}

/** Each shard master's replication offset, by address. */
async function masterOffsets(): Promise<Map<string, number>> {
  const topology = parseClusterNodes(String(await sourceAdmin.call('CLUSTER', 'NODES')));
  const offsets = new Map<string, number>();
  for (const shard of topology.shards) {
    const node = source.nodes.find((candidate) => candidate.address === shard.master.address);
    const client = (node as RedisProcess).client();
    try {
      offsets.set(shard.master.address, await replicationOffset(client));
    } finally {
      client.disconnect();
    }
  }
  return offsets;
}

/** Every counter on the target holds exactly the INCRs the source acknowledged, and the datasets match. */
async function expectExact(acknowledged: Map<string, number>): Promise<void> {
  const targetSide = await clusterSide(target, targetAdmin);
  const sourceSide = await clusterSide(source, sourceAdmin);
  try {
    for (const key of COUNTERS)
      expect(await targetSide.clientOf(key).get(key), key).toBe(String(acknowledged.get(key) ?? 0));
    const comparison = await compareSides(sourceSide, targetSide);
    expect(comparison.differences).toEqual([]);
    expect(comparison.keyCount).toBe(COUNTERS.length);
  } finally {
    targetSide.close();
    sourceSide.close();
  }
}

async function syncFullTotal(): Promise<number> {
  let total = 0;
  for (const node of source.nodes) {
    const client = node.client();
    try {
      total += Number(/sync_full:(\d+)/.exec(await client.info('stats'))?.[1] ?? 0);
    } finally {
      client.disconnect();
    }
  }
  return total;
}

interface ShardLine {
  tx: number;
  phase: number;
  full: number;
  incr: number;
  ack: number;
}

/** The last status line of every shard the child printed. */
function shardLines(process: ManagedProcess): Map<string, ShardLine> {
  const lines = new Map<string, ShardLine>();
  for (const line of process.output().split('\n')) {
    const match = /^shard (\S+) tx=(\d) phase=(\d) full=(\d+) incr=(\d+) ack=(\d+)$/.exec(line.trim());
    if (!match) continue;
    const [, input = '', tx, phase, full, incr, ack] = match;
    lines.set(input, {
      tx: Number(tx),
      phase: Number(phase),
      full: Number(full),
      incr: Number(incr),
      ack: Number(ack),
    });
  }
  return lines;
}

function startChild(): Promise<ManagedProcess> {
  return startProcess({
    name: 'cluster-syncer',
    command: process.execPath,
    args: [
      '--conditions=@kvforge/source',
      '--import',
      'tsx',
      script,
      source.addresses[0] as string,
      target.addresses[0] as string,
    ],
    readyWhen: { logLine: /syncer started/ },
    readyTimeoutMs: 30_000,
  });
}

/** A key `<prefix>:<n>` whose slot is `slot`. */
function keyOfSlot(prefix: string, slot: number): string {
  for (let n = 0; ; n++) if (slotOfKey(`${prefix}:${n}`) === slot) return `${prefix}:${n}`;
}

describe('cluster → cluster transaction mode', () => {
  it('a batch script writes nothing unless the lease is ours and every slot it touches is served stably', async () => {
    const topology = parseClusterNodes(String(await targetAdmin.call('CLUSTER', 'NODES')));
    const [other, , owner] = topology.shards;
    if (!owner || !other) throw new Error('expected 3 shards');
    const node = target.nodes.find((candidate) => candidate.address === owner.master.address) as RedisProcess;
    const client = node.client();
    const connection = new TargetConnection({ host: node.host, port: node.port });
    await connection.connect();
    try {
      const [low] = owner.slots[0] as [number, number];
      const stableKey = keyOfSlot('stable', low + 1);
      const migratingKey = keyOfSlot('migrating', low + 2);
      const checkpointKey = keyOfSlot('redis-gunyu-checkpoint', low + 3);
      const leaseKey = `redis-gunyu-checkpoint-lease:{${keyOfSlot('lease', low + 4)}}`;
      await client.set(leaseKey, 'me');
      const batch = new ClusterTransactionBatch({ owner: 'me', leaseKey, checkpointKey });
      const incr = (key: string): Buffer =>
        Buffer.from(`*2\r\n$4\r\nINCR\r\n$${key.length}\r\n${key}\r\n`, 'latin1');
      const fields = ['r_runid', 'r', 'r_version', '1.0', 'r_offset', '7', 'r_mtime', '1'];
      const send = async (): Promise<string | undefined> => {
        expect(batch.add(incr(stableKey), 'INCR')).toBe(true);
        expect(batch.add(incr(migratingKey), 'INCR')).toBe(true);
        return (await connection.sendParts(batch.take(fields), 1)).errors[0]?.message;
      };
      // Keyless and oversized commands stay outside the script.
      expect(batch.add(Buffer.from('*1\r\n$4\r\nPING\r\n'), 'PING')).toBe(false);
      const huge = `*7001\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n${'$1\r\nx\r\n'.repeat(6999)}`;
      expect(batch.add(Buffer.from(huge, 'latin1'), 'RPUSH')).toBe(false);

      await client.call('CLUSTER', 'SETSLOT', String(low + 2), 'MIGRATING', other.master.id);
      try {
        expect(await send()).toMatch(/^GUNYUSLOT /);
      } finally {
        await client.call('CLUSTER', 'SETSLOT', String(low + 2), 'STABLE');
      }
      expect(await client.exists(stableKey)).toBe(0);
      expect(await client.exists(checkpointKey)).toBe(0);

      await client.set(leaseKey, 'someone else');
      expect(await send()).toMatch(/^FENCED /);
      expect(await client.exists(stableKey)).toBe(0);
      expect(await client.exists(checkpointKey)).toBe(0);

      await client.set(leaseKey, 'me');
      expect(await send()).toBeUndefined();
      expect(await client.get(stableKey)).toBe('1');
      expect(await client.get(migratingKey)).toBe('1');
      expect(await client.hget(checkpointKey, 'r_offset')).toBe('7');

      // A command that fails inside (WRONGTYPE) does not stop the rest nor the checkpoint: like EXEC, the
      // reply names it and the syncer fails the session after the checkpoint moved past it.
      await client.set(migratingKey, 'not a number');
      fields[5] = '9';
      expect(await send()).toMatch(/^GUNYUCMD 1 failed, first 1: ERR value is not an integer/);
      expect(await client.get(stableKey)).toBe('2');
      expect(await client.hget(checkpointKey, 'r_offset')).toBe('9');
    } finally {
      connection.close();
      client.disconnect();
    }
  });

  it('kill -9 of the syncer mid-stream, then a restart: every shard resumes with +CONTINUE, counters exact', async () => {
    const fullBefore = await syncFullTotal();
    child = await startChild();
    const writes = startIncrements();
    const first = child;
    await waitFor(
      () => {
        const lines = [...shardLines(first).values()];
        return lines.length === 3 && lines.every((line) => line.phase === 2 && line.tx === 1);
      },
      { timeoutMs: 60_000, message: 'three shards streaming in transaction mode' },
    );
    // Mid-stream: the writes run on while the syncer dies and comes back.
    await waitFor(() => writes.acknowledged > 3000, { timeoutMs: 60_000, message: 'live writes' });
    await first.kill('SIGKILL');
    const countAtKill = writes.acknowledged;
    child = await startChild();
    const second = child;
    await waitFor(() => writes.acknowledged > countAtKill + 3000, { timeoutMs: 60_000, message: 'writes' });
    const acknowledged = await writes.stop();
    const offsets = await masterOffsets();
    // The premise: everything written since the first full sync is still in every master's backlog.
    for (const offset of offsets.values()) expect(offset).toBeLessThan(BACKLOG_BYTES / 2);
    await waitFor(
      () => {
        const lines = shardLines(second);
        return (
          lines.size === 3 &&
          [...offsets].every(([address, offset]) => (lines.get(address)?.ack ?? -1) >= offset)
        );
      },
      { timeoutMs: 90_000, message: 'restarted syncer caught up' },
    );
    const logs = (process: ManagedProcess): string =>
      process
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .join('\n');
    for (const line of shardLines(second).values())
      expect(line, `before the kill:\n${logs(first)}\nafter:\n${logs(second)}`).toMatchObject({
        tx: 1,
        phase: 2,
        full: 0,
        incr: 1,
      });
    // One full sync per shard at the first start, none after the kill.
    expect(await syncFullTotal()).toBe(fullBefore + 3);
    await expectExact(acknowledged);
    await second.stop();
    child = undefined;
  }, 240_000);

  it('3 → 3 identical ranges under live INCRs: Transaction per shard; a slot moved on the target turns it off, counters stay exact', async () => {
    const config = loadConfig(gunyuConfigSchema, [
      {
        server: { listen: '127.0.0.1:0', checkRedisTypologyTicker: '1s' },
        input: { redis: { type: 'cluster', addresses: [source.addresses[0] as string] } },
        output: {
          redis: { type: 'cluster', addresses: [target.addresses[0] as string] },
          replay: { replayRdbParallel: 2, updateCheckpointTicker: '100ms' },
        },
      },
    ]);
    const sync = new SyncService(config, undefined, { syncer: { reconnectBackoffMs: 200 } });
    service = sync;
    sync.start();
    const writes = startIncrements();
    await sync.ready();
    await waitFor(() => sync.syncers.every((syncer) => syncer.counters.syncPhase === 2), {
      timeoutMs: 60_000,
      message: 'full syncs',
    });
    await waitFor(() => writes.acknowledged > 2000, { timeoutMs: 60_000, message: 'live writes' });
    expect(sync.status().map((entry) => entry.Transaction)).toEqual([true, true, true]);
    for (const syncer of sync.syncers) expect(syncer.counters.cluster.moved).toBe(0);
    const batchesBefore = sync.syncers.map((syncer) => syncer.counters.transactionBatches);
    await waitFor(
      () =>
        sync.syncers.every(
          (syncer, index) => syncer.counters.transactionBatches > (batchesBefore[index] ?? 0),
        ),
      { timeoutMs: 30_000, message: 'transaction batches' },
    );

    // Slot 0 (HOT_COUNTER is in it) moves to another target master while it is written.
    const { to, result: resharded } = await reshardSlots(targetAdmin, 1, { timeoutMs: 60_000 });
    expect(resharded.status, resharded.stderr).toBe(0);
    await waitFor(
      () =>
        sync.status().every((entry) => !entry.Transaction) &&
        sync.syncers.every((syncer) => syncer.counters.syncPhase === 2),
      { timeoutMs: 60_000, message: 'plain batches after the slot moved' },
    );
    const countAfterMove = writes.acknowledged;
    await waitFor(() => writes.acknowledged > countAfterMove + 2000, {
      timeoutMs: 60_000,
      message: 'writes',
    });
    const acknowledged = await writes.stop();
    const offsets = await masterOffsets();
    await waitFor(
      () =>
        sync.syncers.every(
          (syncer) => syncer.counters.ackOffset >= (offsets.get(syncer.options.inputAddress) ?? 0),
        ),
      { timeoutMs: 90_000, message: 'caught up' },
    );
    expect(sync.status().map((entry) => entry.Transaction)).toEqual([false, false, false]);
    // Slot 0 is served by another master now; the counter in it still holds every INCR (expectExact).
    const after = parseClusterNodes(String(await targetAdmin.call('CLUSTER', 'NODES')));
    expect(after.shards.find((shard) => shard.slots.some(([low]) => low === 0))?.master.id).toBe(
      to.master.id,
    );
    for (const syncer of sync.syncers) expect(syncer.counters.fullSyncs).toBe(1);
    await expectExact(acknowledged);
  }, 240_000);
});
