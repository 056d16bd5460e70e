import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_PATHS } from '../src/core/internal-api';
import type { PartitionTable } from '../src/index';
import { http, type RunningNode, startCluster } from './cluster-harness';
import { WriteVerifier } from './write-verifier';

/**
 * With replicas ≥ 3 an old replica outside the new primary's write quorum could still acknowledge
 * the old primary's writes. Four in-process nodes, replicas 3, quorum 2. For one key the table
 * moves from [P, R1, R2] to [R1, O, R2] (a new primary R1, an old replica R2 it does not need for
 * its quorum). The test plays the coordinator and pushes the new table to O and R1 only; P and R2
 * cannot call R1 or O (an asymmetric cut), so they keep the old table until someone pushes it to
 * them. Without the ownership fence R1 acknowledges at once, P then acknowledges an older-epoch
 * write through R2, and every later read returns R1's value: a stale read of an acknowledged write.
 */
describe('ownership fence with replicas 3', () => {
  let nodes: RunningNode[];
  beforeAll(async () => {
    // Dead-after well above the test's length: the cut must not remove anyone.
    nodes = await startCluster(4, { replicas: 3, writeQuorum: 2, deadAfterMs: 20_000 });
  });
  afterAll(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
  });

  it('a new primary serves only after every previous holder runs its table; the old primary’s later write is refused', async () => {
    const key = 'fence/replicas-3';
    const { partition, holders } = nodes[0]!.node.holdersOf(key);
    const byId = (nodeId: string | undefined) => nodes.find((running) => running.node.nodeId === nodeId)!;
    const [primary, newPrimary, oldReplica] = holders.map(byId) as [RunningNode, RunningNode, RunningNode];
    const outsider = nodes.find((running) => !holders.includes(running.node.nodeId))!;

    const current = newPrimary.node.table;
    const next: PartitionTable = structuredClone(current);
    next.version = current.version + 1;
    next.owners[partition] = [newPrimary.node.nodeId, outsider.node.nodeId, oldReplica.node.nodeId];
    next.previous = { members: current.members, owners: current.owners };

    const verifier = new WriteVerifier();
    let adopted: number[] = [];
    try {
      for (const cutOff of [primary, oldReplica])
        cutOff.node.peers.deny([newPrimary.address, outsider.address]);
      for (const receiver of [outsider, newPrimary]) {
        const status = (await http(receiver.url, 'POST', INTERNAL_PATHS.table, next)).status;
        // 400 "not newer" only when the first receiver's own push (fence, probe sync) got there first.
        expect(status === 200 || receiver.node.table.version === next.version, `POST table: ${status}`).toBe(
          true,
        );
        expect(receiver.node.table.version).toBe(next.version);
      }

      // The new primary's write is acknowledged only once P and R2 run the new table (it pushed it).
      expect(await verifier.write(newPrimary.url, key, 1)).toBe(true);
      adopted = [primary.node.table.version, oldReplica.node.table.version];

      // The old primary no longer takes the key: its forward to R1 is cut, so nothing is acknowledged
      // (without the fence it is, through R2, and the reads below are stale).
      await verifier.write(primary.url, key, 2);
    } finally {
      for (const running of nodes) running.node.peers.allow();
    }

    for (const running of nodes) await verifier.read(running.url, key);
    expect(verifier.problems).toEqual([]);
    expect(verifier.latest(key)).toBe(1);
    expect(verifier.reads).toBe(4);
    expect(adopted).toEqual([next.version, next.version]);
  });
});
