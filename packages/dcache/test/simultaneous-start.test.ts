import { seededRandom, waitFor } from '@kvforge/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { DcacheNodeOptions } from '../src/index';
import { type RunningNode, startNode } from './cluster-harness';
import { holdPort, type PortHold } from './port-hold';

/**
 * Nodes started at the same moment, each seeding others, must end in ONE cluster: every node runs
 * the same table (version and coordinator) listing all of them.
 */
async function startTogether(
  count: number,
  seedsOf: (index: number, addresses: string[]) => string[],
  options: Partial<DcacheNodeOptions>,
  seed: number,
): Promise<RunningNode[]> {
  const holds: PortHold[] = await Promise.all(Array.from({ length: count }, () => holdPort()));
  const addresses = holds.map((hold) => hold.address);
  // Node ids shuffled against the port order: the lowest address is not always the lowest id.
  const random = seededRandom(seed);
  const ids = Array.from({ length: count }, (_, index) => `node${index + 1}`).sort(() => random() - 0.5);
  return Promise.all(
    holds.map((hold, index) => startNode(ids[index]!, seedsOf(index, addresses), options, hold)),
  );
}

function oneCluster(nodes: RunningNode[]): boolean {
  const [first] = nodes;
  if (first === undefined) return false;
  const { version, coordinator } = first.node.table;
  return nodes.every(
    ({ node }) =>
      node.isJoined &&
      node.table.version === version &&
      node.table.coordinator === coordinator &&
      node.table.members.length === nodes.length,
  );
}

/** Each node's view, for a failure message: who it thinks is in the ring. */
const views = (nodes: RunningNode[]) =>
  nodes
    .map(
      ({ node }) =>
        `${node.nodeId}@${node.options.address}: v${node.table.version}/${node.table.coordinator} [${node.table.members.map((member) => member.nodeId).join(',')}]${node.isJoined ? '' : ' (joining)'}`,
    )
    .join('; ');

const everyOther = (index: number, addresses: string[]) => addresses.filter((_, other) => other !== index);
const nextOnly = (index: number, addresses: string[]) => [addresses[(index + 1) % addresses.length]!];

describe('simultaneous start converges to one cluster', () => {
  let nodes: RunningNode[] = [];
  afterEach(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
    nodes = [];
  });

  const cases: Array<{
    name: string;
    count: number;
    seeds: typeof everyOther;
    options: Partial<DcacheNodeOptions>;
  }> = [
    { name: '3 nodes, each seeding the other two', count: 3, seeds: everyOther, options: {} },
    { name: '5 nodes, each seeding all others', count: 5, seeds: everyOther, options: {} },
    // bootstrapTimeoutMs 0: every node that finds no joined seed founds its own cluster at once,
    // so the clusters must merge.
    {
      name: '5 nodes that all bootstrap alone, then merge',
      count: 5,
      seeds: everyOther,
      options: { bootstrapTimeoutMs: 0 },
    },
    {
      name: '4 nodes in a seed ring (each knows only the next), all bootstrapping alone',
      count: 4,
      seeds: nextOnly,
      options: { bootstrapTimeoutMs: 0 },
    },
  ];

  for (const [index, testCase] of cases.entries()) {
    it(testCase.name, async () => {
      nodes = await startTogether(testCase.count, testCase.seeds, testCase.options, 17 + index);
      await waitFor(() => oneCluster(nodes), {
        timeoutMs: 30_000,
        message: `the ${testCase.count} nodes did not form one cluster`,
      }).catch((error: unknown) => {
        throw new Error(`${String(error)}; views: ${views(nodes)}`);
      });
      const members = nodes[0]!.node.table.members.map((member) => member.nodeId);
      expect(members).toEqual(Array.from({ length: testCase.count }, (_, n) => `node${n + 1}`).sort());
    });
  }
});
