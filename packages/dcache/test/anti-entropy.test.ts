import { waitFor } from '@kvforge/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../src/index';
import { cachePath, http, type RunningNode, startCluster } from './cluster-harness';

/**
 * Anti-entropy (issue 15): a replica that missed writes is repaired in the background — through
 * the hint its failed send left, and through digests when nothing hinted it. Three in-process
 * nodes, replicas 3, write quorum 2, repair every 200 ms; dead-after 10 s so the short cut below
 * removes no one.
 */
describe('anti-entropy repairs replicas that missed writes', () => {
  let nodes: RunningNode[];
  beforeAll(async () => {
    nodes = await startCluster(3, {
      replicas: 3,
      writeQuorum: 2,
      repairIntervalMs: 200,
      deadAfterMs: 10_000,
    });
  });
  afterAll(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
  });

  const holdsAll = (running: RunningNode, keys: string[], value: string) =>
    keys.every((key) => running.node.localGet(key)?.valueJson === JSON.stringify(value));

  it('a replica cut off during writes catches up once reachable (hinted partitions), metric back to 0', async () => {
    const [node1, node2, node3] = nodes as [RunningNode, RunningNode, RunningNode];
    const keys = Array.from({ length: 200 }, (_, index) => `hinted/${index}`).filter(
      (key) => node1.node.holdersOf(key).holders[0] !== 'node3',
    );
    node1.node.peers.deny([node3.address]);
    node2.node.peers.deny([node3.address]);
    try {
      for (const key of keys)
        expect((await http(node1.url, 'PUT', cachePath(key), { value: 'v' })).status).toBe(200);
      expect(holdsAll(node3, keys, 'v')).toBe(false);
    } finally {
      node1.node.peers.allow();
      node2.node.peers.allow();
    }
    await waitFor(() => holdsAll(node3, keys, 'v'), { timeoutMs: 20_000, message: 'node3 was not repaired' });
    await waitFor(() => nodes.every((running) => running.node.repair.outOfSync.size === 0), {
      timeoutMs: 20_000,
      message: 'partitions still out of sync',
    });
    expect(node1.node.repair.repairedPartitions + node2.node.repair.repairedPartitions).toBeGreaterThan(0);
    const metrics = await (await request(`${node1.url}/metrics`)).body.text();
    expect(metrics).toMatch(/^dcache_partitions_out_of_sync\{[^}]*node="node1"[^}]*\} 0$/m);
    expect(metrics).toMatch(/^dcache_repaired_partitions_total\{[^}]*node="node1"[^}]*\} \d+$/m);
  });

  it('a replica that lost a partition without any hint is found by digest and refilled', async () => {
    const [node1] = nodes as [RunningNode];
    const keys = Array.from({ length: 40 }, (_, index) => `digest/${index}`);
    for (const key of keys)
      expect((await http(node1.url, 'PUT', cachePath(key), { value: 'd' })).status).toBe(200);
    const partition = partitionOf(keys[0]!, node1.node.table.partitionCount);
    const [primaryId, replicaId] = node1.node.table.owners[partition]!;
    const replica = nodes.find((running) => running.node.nodeId === replicaId)!;
    const inPartition = keys.filter((key) => partitionOf(key, node1.node.table.partitionCount) === partition);
    // Copies beyond the quorum finish in the background: drop only once they all arrived, so
    // the refill below can come from nothing but the repair.
    await waitFor(() => holdsAll(replica, inPartition, 'd'), {
      timeoutMs: 10_000,
      message: 'copies missing',
    });
    expect(replica.node.store.dropPartition(partition)).toBeGreaterThan(0);
    expect(holdsAll(replica, inPartition, 'd')).toBe(false);
    const primary = nodes.find((running) => running.node.nodeId === primaryId)!;
    const repairedBefore = primary.node.repair.repairedPartitions;
    await waitFor(() => holdsAll(replica, inPartition, 'd'), {
      // A full digest cycle: 271 partitions, 32 per 200 ms round, a third of them primaried here.
      timeoutMs: 30_000,
      message: 'the dropped partition was not refilled',
    });
    // The primary counts the repair once the replica has acknowledged the refill, so the replica
    // can hold the keys a turn before the counter moves: wait for it rather than read it.
    await waitFor(() => primary.node.repair.repairedPartitions > repairedBefore, {
      timeoutMs: 5_000,
      message: 'the refill was not counted as a repair by the primary',
    });
  });
});
