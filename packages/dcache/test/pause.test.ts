import { waitFor } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../src/index';
import { http } from './cluster-harness';
import { members, type NodeProcess, spawnCluster, waitForOneCluster } from './process-harness';
import { WriteVerifier } from './write-verifier';

/**
 * Issue 15: SIGSTOP beyond dead-after (a GC pause, a frozen VM) with writes to the paused node
 * and around it, then SIGCONT. Real processes, replicas 2, write quorum 2, dead after 1 s.
 */

const KEYS_PER_SCENARIO = 20;

/** Keys whose primary is `nodeId` under the ring `url` serves. */
async function keysOwnedBy(url: string, nodeId: string, prefix: string): Promise<string[]> {
  const ring = (await http(url, 'GET', '/api/v1/cluster/ring')).body as {
    partition_count: number;
    owners: string[][];
  };
  const keys: string[] = [];
  for (let index = 0; keys.length < KEYS_PER_SCENARIO; index++) {
    const key = `${prefix}/${index}`;
    if (ring.owners[partitionOf(key, ring.partition_count)]![0] === nodeId) keys.push(key);
  }
  return keys;
}

describe('SIGSTOP past dead-after, then SIGCONT (real processes, replicas 2, quorum 2)', () => {
  let nodes: NodeProcess[] = [];
  beforeAll(async () => {
    nodes = await spawnCluster(3);
  }, 90_000);
  afterAll(async () => {
    for (const node of nodes) node.process.child.kill('SIGCONT');
    await Promise.all(nodes.map((node) => node.process.stop()));
  });

  it.each([
    ['a primary', 'node2'],
    ['the coordinator (and primary)', 'node1'],
  ])(
    'pausing %s: nothing acknowledged is overwritten by an older write, no stale read, it rejoins by itself',
    async (_, victimId) => {
      const verifier = new WriteVerifier();
      const victim = nodes.find((node) => node.nodeId === victimId)!;
      const others = nodes.filter((node) => node !== victim);
      const otherUrls = others.map((node) => node.url);
      const keys = await keysOwnedBy(others[0]!.url, victimId, `pause-${victimId}`);

      // 1: acknowledged before the pause (retried: a node that was itself cut off in the previous
      // scenario refuses client writes during its quarantine).
      const before = Date.now() + 30_000;
      for (const key of keys) await verifier.writeUntilAcknowledged(otherUrls, key, 1, before);

      victim.process.child.kill('SIGSTOP');
      try {
        // 2: sent to the paused node; they time out here but sit in its socket buffers.
        const queuedWrites = keys.map((key) => verifier.write(victim.url, key, 2, 500));
        await Promise.all(queuedWrites);
        await waitFor(async () => (await members(others[0]!.url)).length === 2, {
          timeoutMs: 30_000,
          message: `${victimId} was not removed while paused`,
        });
        // 3: acknowledged by the survivors while the victim is still paused.
        const deadline = Date.now() + 30_000;
        await Promise.all(keys.map((key) => verifier.writeUntilAcknowledged(otherUrls, key, 3, deadline)));
        for (const key of keys) expect(verifier.latest(key)).toBe(3);
        // Reads sent to the paused node after 3 was acknowledged: answered only after SIGCONT.
        const queuedReads = keys.map((key) => verifier.read(victim.url, key));
        await new Promise((resolve) => setTimeout(resolve, 100)); // let them reach its socket buffers
        victim.process.child.kill('SIGCONT');
        await Promise.all(queuedReads);
      } finally {
        victim.process.child.kill('SIGCONT');
      }

      // Back in the table by itself, and every node answers 3 for every key.
      await waitForOneCluster(nodes, 3, 60_000);
      for (const node of nodes) for (const key of keys) await verifier.read(node.url, key);
      expect(verifier.problems).toEqual([]);
      expect(verifier.reads).toBe(keys.length * 4);
      for (const key of keys) {
        const read = await http(victim.url, 'GET', `/api/v1/cache/${encodeURIComponent(key)}`);
        expect(read.body.value).toBe(3);
      }
    },
    150_000,
  );
});
