import { waitFor } from '@kvforge/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { INTERNAL_PATHS } from '../src/core/internal-api';
import { cachePath, http } from './cluster-harness';
import {
  members,
  type NodeProcess,
  spawnTogether,
  waitForOneCluster,
  waitForOneTable,
} from './process-harness';
import { WriteVerifier } from './write-verifier';

/**
 * Issue 15, done-when: a 2+2 partition with writes on both sides, then heal — with real
 * processes of the app (replicas 2, quorum 2, dead after 1 s). The cut is each process's
 * deny-list, set through `POST /internal/fault/deny`, which the binary serves only with the
 * `--fault-injection` test hook: the nodes of one side refuse to call the other side's
 * addresses, in both directions, while the test still reaches every node.
 *
 * Sequences: 1 before the cut; side A writes 2, side B writes 3. Keys written on one side only
 * go through the verifier (none may be lost or stale). A key written on both sides keeps one
 * side's acknowledged write — the merge rule's documented loss — and must read the same on all
 * four nodes, never the 1 both sides overwrote.
 */

const SHARED = Array.from({ length: 30 }, (_, index) => `split/both/${index}`);
const ONLY_A = Array.from({ length: 10 }, (_, index) => `split/a/${index}`);
const ONLY_B = Array.from({ length: 10 }, (_, index) => `split/b/${index}`);

async function cut(node: NodeProcess, peers: readonly NodeProcess[]): Promise<void> {
  const answer = await http(node.url, 'POST', INTERNAL_PATHS.faultDeny, {
    addresses: peers.map((peer) => peer.address),
  });
  expect(answer.status).toBe(200);
}

describe('2+2 partition of real processes, writes on both sides, heal', () => {
  let nodes: NodeProcess[] = [];
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.process.stop()));
  });

  it('one table within 30 s of the heal; every key identical on all nodes; one-sided writes all kept', async () => {
    nodes = await spawnTogether(4, ['--fault-injection']);
    await waitForOneCluster(nodes, 4);
    const verifier = new WriteVerifier();
    const deadline = () => Date.now() + 30_000;
    const all = [...SHARED, ...ONLY_A, ...ONLY_B];
    for (const key of all) await verifier.writeUntilAcknowledged([nodes[0]!.url], key, 1, deadline());

    const sideA = nodes.slice(0, 2);
    const sideB = nodes.slice(2);
    for (const node of sideA) await cut(node, sideB);
    for (const node of sideB) await cut(node, sideA);
    await waitFor(
      async () => {
        const lists = await Promise.all(nodes.map((node) => members(node.url)));
        return lists.every((list) => list.length === 2);
      },
      { timeoutMs: 30_000, message: 'the halves did not form their own tables' },
    );

    const urlsA = sideA.map((node) => node.url);
    const urlsB = sideB.map((node) => node.url);
    for (const key of [...SHARED, ...ONLY_A])
      await verifier.writeUntilAcknowledged(urlsA, key, 2, deadline());
    for (const key of [...SHARED, ...ONLY_B])
      await verifier.writeUntilAcknowledged(urlsB, key, 3, deadline());

    for (const node of nodes) await cut(node, []);
    const healedAt = Date.now();
    const healed = await waitForOneTable(nodes, 4, 30_000);
    expect(healed.identities).toHaveLength(4);
    expect(healed.formed, `no single table within 30 s of the heal: ${healed.identities.join(' | ')}`).toBe(
      true,
    );
    expect(Date.now() - healedAt).toBeLessThan(30_000);

    const valuesEverywhere = (key: string) =>
      Promise.all(nodes.map(async (node) => (await http(node.url, 'GET', cachePath(key))).body.value));
    // The carried entries of the side that joined reach their new primaries shortly after the join.
    let lastDifference = '';
    await waitFor(
      async () => {
        for (const key of all) {
          const values = await valuesEverywhere(key);
          lastDifference = `${key}: ${JSON.stringify(values)}`;
          const expected = ONLY_A.includes(key) ? [2] : ONLY_B.includes(key) ? [3] : [2, 3];
          if (new Set(values).size !== 1 || !expected.includes(values[0])) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, message: 'keys differ between nodes after the heal' },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; last: ${lastDifference}`);
    });

    for (const node of nodes) for (const key of [...ONLY_A, ...ONLY_B]) await verifier.read(node.url, key);
    expect(verifier.problems).toEqual([]);
    expect(verifier.reads).toBe(4 * (ONLY_A.length + ONLY_B.length));
  }, 180_000);
});
