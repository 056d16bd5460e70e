import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_PATHS } from '../src/core/internal-api';
import type { PartitionTable } from '../src/index';
import { cachePath, http, type RunningNode, startNode, waitForConvergence } from './cluster-harness';

/**
 * A forwarder with a stale table learns the newer one from the 421 itself. Three in-process
 * nodes, replicas 1, with probe rounds effectively off (and tables fresh for minutes) so nothing
 * but the 421 can tell the forwarder: the test pushes a newer table that moves a key's partition
 * to every node except the forwarder, then reads the key through it.
 */
describe('a 421 between nodes carries the newer table', () => {
  let nodes: RunningNode[] = [];
  const quiet = { replicas: 1, writeQuorum: 1, probeIntervalMs: 600_000, deadAfterMs: 1_200_000 };
  beforeAll(async () => {
    const first = await startNode('node1', [], quiet);
    nodes = [first];
    for (const nodeId of ['node2', 'node3']) nodes.push(await startNode(nodeId, [first.address], quiet));
    await waitForConvergence(nodes, 3);
  });
  afterAll(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
  });

  const tableFetches = async (running: RunningNode) => {
    const text = await (await fetch(`${running.url}/metrics`)).text();
    return text
      .split('\n')
      .filter(
        (row) =>
          row.startsWith('dcache_http_request_duration_seconds_count') &&
          row.includes('method="GET"') &&
          row.includes(`route="${INTERNAL_PATHS.table}"`),
      )
      .reduce((sum, row) => sum + Number(row.split(' ').at(-1)), 0);
  };

  it('the forwarder adopts the table from the 421 and reads from the new primary, with no GET of the table', async () => {
    const key = Array.from({ length: 500 }, (_, index) => `stale-421/${index}`).find(
      (candidate) => nodes[0]!.node.holdersOf(candidate).holders[0] === 'node2',
    ) as string;
    const [forwarder, oldPrimary, newPrimary] = nodes as [RunningNode, RunningNode, RunningNode];
    expect((await http(oldPrimary.url, 'PUT', cachePath(key), { value: 'moved' })).status).toBe(200);

    const current = oldPrimary.node.table;
    const next: PartitionTable = structuredClone(current);
    next.version = current.version + 1;
    const { partition } = oldPrimary.node.holdersOf(key);
    next.owners[partition] = [newPrimary.node.nodeId];
    next.previous = { members: current.members, owners: current.owners };
    for (const receiver of [oldPrimary, newPrimary]) {
      expect((await http(receiver.url, 'POST', INTERNAL_PATHS.table, next)).status).toBe(200);
    }
    expect(forwarder.node.table.version).toBe(current.version);
    const fetchesBefore = await Promise.all(nodes.map(tableFetches));

    const answer = await http(forwarder.url, 'GET', cachePath(key));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ key, value: 'moved', found: true, node_id: newPrimary.node.nodeId });
    expect(forwarder.node.table.version).toBe(next.version);
    expect(await Promise.all(nodes.map(tableFetches))).toEqual(fetchesBefore);
  });
});
