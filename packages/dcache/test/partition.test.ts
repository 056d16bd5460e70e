import { waitFor } from '@kvforge/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { cachePath, http, type RunningNode, startNode } from './cluster-harness';
import { holdPort } from './port-hold';

/**
 * Issue 15: a 2+2 partition with writes on both sides, then heal. The partition is a per-node
 * deny-list (`PeerClient.deny`): each node of one side refuses to call the other side's
 * addresses, in both directions, so the halves cannot see each other while the test (outside)
 * still reaches every node. Four in-process nodes on real ports, replicas 2, quorum 2.
 */

const SHARED = Array.from({ length: 30 }, (_, index) => `split/both/${index}`);
const ONLY_A = Array.from({ length: 10 }, (_, index) => `split/a/${index}`);
const ONLY_B = Array.from({ length: 10 }, (_, index) => `split/b/${index}`);

/** PUT until acknowledged (a side's table is still changing right after the cut). */
async function put(url: string, key: string, value: string): Promise<void> {
  await waitFor(async () => (await http(url, 'PUT', cachePath(key), { value })).status === 200, {
    timeoutMs: 20_000,
    message: `PUT ${key}=${value} at ${url} was never acknowledged`,
  });
}

const sameTable = (nodes: RunningNode[], members: number) => {
  const [first] = nodes;
  return nodes.every(
    ({ node }) =>
      node.table.version === first!.node.table.version &&
      node.table.coordinator === first!.node.table.coordinator &&
      node.table.members.length === members &&
      !node.isMigrating,
  );
};

describe('2+2 partition, writes on both sides, heal', () => {
  let nodes: RunningNode[] = [];
  afterAll(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
  });

  it('one table within 30 s of the heal; every key identical on all nodes; one-sided writes all kept', async () => {
    const holds = await Promise.all(Array.from({ length: 4 }, () => holdPort()));
    const addresses = holds.map((hold) => hold.address);
    nodes = await Promise.all(
      holds.map((hold, index) =>
        startNode(
          `node${index + 1}`,
          addresses.filter((_, other) => other !== index),
          { replicas: 2, writeQuorum: 2 },
          hold,
        ),
      ),
    );
    await waitFor(() => sameTable(nodes, 4), { timeoutMs: 30_000, message: 'no cluster of 4' });
    for (const key of SHARED) await put(nodes[0]!.url, key, 'before');

    const sideA = nodes.slice(0, 2);
    const sideB = nodes.slice(2);
    for (const running of sideA) running.node.peers.deny(sideB.map((other) => other.address));
    for (const running of sideB) running.node.peers.deny(sideA.map((other) => other.address));
    await waitFor(() => sameTable(sideA, 2) && sameTable(sideB, 2), {
      timeoutMs: 30_000,
      message: 'the halves did not form their own tables',
    });

    for (const key of [...SHARED, ...ONLY_A]) await put(sideA[0]!.url, key, 'A');
    for (const key of [...SHARED, ...ONLY_B]) await put(sideB[0]!.url, key, 'B');

    for (const running of nodes) running.node.peers.allow();
    const healedAt = Date.now();
    await waitFor(() => sameTable(nodes, 4), {
      timeoutMs: 30_000,
      message: 'no single table after the heal',
    });
    expect(Date.now() - healedAt).toBeLessThan(30_000);

    const valuesEverywhere = async (key: string) =>
      Promise.all(nodes.map(async (running) => (await http(running.url, 'GET', cachePath(key))).body.value));
    // The carried entries of the side that joined reach their new primaries shortly after the join.
    let lastDifference = '';
    await waitFor(
      async () => {
        for (const key of [...SHARED, ...ONLY_A, ...ONLY_B]) {
          const values = await valuesEverywhere(key);
          lastDifference = `${key}: ${JSON.stringify(values)}; tables ${nodes.map(({ node }) => `${node.nodeId} v${node.table.version}/${node.table.members.length}`).join(' ')}`;
          if (new Set(values).size !== 1) return false;
          if (ONLY_A.includes(key) && values[0] !== 'A') return false;
          if (ONLY_B.includes(key) && values[0] !== 'B') return false;
          if (SHARED.includes(key) && values[0] !== 'A' && values[0] !== 'B') return false;
        }
        return true;
      },
      { timeoutMs: 30_000, message: 'keys differ between nodes after the heal' },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; last: ${lastDifference}`);
    });
    for (const key of ONLY_B) expect(await valuesEverywhere(key)).toEqual(['B', 'B', 'B', 'B']);
  }, 120_000);
});
