import { waitFor } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_PATHS } from '../src/core/internal-api';
import { cachePath, http, type RunningNode, startCluster } from './cluster-harness';

/**
 * A primary that is up but fails (a 5xx from its internal read) must not fail a read the replica
 * can serve: callOwner treats it like a network error and asks the next holder. Three in-process
 * nodes, replicas 2, so a third node coordinates without holding the key. The failure is injected
 * into the primary's owner read; everything else (HTTP, routing, error envelope) is the real path.
 */
describe('a read whose primary answers 5xx falls back to the replica', () => {
  let nodes: RunningNode[];
  beforeAll(async () => {
    nodes = await startCluster(3, { replicas: 2, writeQuorum: 2 });
  });
  afterAll(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
  });

  it('GET through a non-holder answers 200 with the value, counted as a replica fallback', async () => {
    const [node1] = nodes as [RunningNode];
    const key = Array.from({ length: 500 }, (_, index) => `failing-primary/${index}`).find(
      (candidate) => !node1.node.holdersOf(candidate).holders.includes('node1'),
    ) as string;
    const [primaryId, replicaId] = node1.node.holdersOf(key).holders as [string, string];
    const primary = nodes.find((running) => running.node.nodeId === primaryId) as RunningNode;
    const replica = nodes.find((running) => running.node.nodeId === replicaId) as RunningNode;

    expect((await http(node1.url, 'PUT', cachePath(key), { value: 'kept' })).status).toBe(200);
    await waitFor(() => replica.node.localGet(key)?.valueJson === '"kept"', {
      timeoutMs: 10_000,
      message: 'the replica copy did not arrive',
    });

    const failing = () => {
      throw new Error('injected owner read failure');
    };
    const { ownerGet, ownerReadNow } = primary.node;
    primary.node.ownerGet = failing;
    primary.node.ownerReadNow = failing;
    try {
      // The premise: the primary itself answers its internal read with a 5xx.
      const direct = await http(primary.url, 'GET', INTERNAL_PATHS.cache(key));
      expect(direct.status).toBeGreaterThanOrEqual(500);

      const fallbacksBefore = node1.node.counters.replicaFallbacks;
      const answer = await http(node1.url, 'GET', cachePath(key));
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ key, value: 'kept', found: true });
      expect(node1.node.counters.replicaFallbacks).toBe(fallbacksBefore + 1);
    } finally {
      primary.node.ownerGet = ownerGet;
      primary.node.ownerReadNow = ownerReadNow;
    }
  });
});
