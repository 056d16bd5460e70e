import { waitFor } from '@kvforge/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cachePath,
  http,
  type RunningNode,
  startCluster,
  startNode,
  waitForConvergence,
} from './cluster-harness';
import { holdPort } from './port-hold';

/** Writes and reads in a loop; every read must return the last acknowledged value of its key. */
function startVerifier(nodes: () => RunningNode[]) {
  const acknowledged = new Map<string, string>();
  const problems: string[] = [];
  let running = true;
  let operations = 0;
  const loop = (async () => {
    let counter = 0;
    while (running) {
      const targets = nodes();
      const node = targets[counter % targets.length]!;
      const key = `live:${counter % 200}`;
      const value = `v${counter}`;
      try {
        const put = await http(node.url, 'PUT', cachePath(key), { value });
        if (put.status === 200) acknowledged.set(key, value);
      } catch {
        // a write to a node being stopped is not acknowledged
      }
      const readKey = `live:${(counter * 7) % 200}`;
      const expected = acknowledged.get(readKey);
      if (expected !== undefined) {
        try {
          const get = await http(targets[(counter + 1) % targets.length]!.url, 'GET', cachePath(readKey));
          if (get.body?.value !== expected)
            problems.push(`${readKey}: got ${get.body?.value}, want ${expected}`);
        } catch (error) {
          problems.push(`${readKey}: ${String(error)}`);
        }
      }
      counter++;
      operations++;
    }
  })();
  return {
    acknowledged,
    problems,
    operations: () => operations,
    async stop() {
      running = false;
      await loop;
    },
  };
}

describe('membership changes under load (replicas 1: data survives only by migration)', () => {
  const nodes: RunningNode[] = [];
  afterAll(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
  });

  it('join moves ~1/4 of partitions, only to the new node, with no lost or stale key; leave hands off', async () => {
    const options = { replicas: 1, writeQuorum: 1 };
    nodes.push(...(await startCluster(3, options)));
    const keys = Array.from({ length: 600 }, (_, index) => `seed/${index} ü`);
    const items = keys.map((key) => ({ key, value: key.toUpperCase() }));
    expect((await http(nodes[0]!.url, 'POST', '/api/v1/cache/batch/set', { items })).status).toBe(200);
    const before = nodes[0]!.node.table.owners.map((holders) => holders[0]);

    const active = () =>
      nodes.filter((running) => running.node.table.members.some((m) => m.nodeId === running.node.nodeId));
    const verifier = startVerifier(active);
    const joiner = await startNode('node4', [nodes[1]!.address], options);
    nodes.push(joiner);
    await waitForConvergence(nodes, 4);

    const after = nodes[0]!.node.table.owners.map((holders) => holders[0]);
    let moved = 0;
    for (const [partition, owner] of after.entries()) {
      if (owner !== before[partition]) {
        moved++;
        expect(owner).toBe('node4');
      }
    }
    expect(moved / after.length).toBeGreaterThan(0.2);
    expect(moved / after.length).toBeLessThan(0.3);
    expect(joiner.node.migration.migratedKeys).toBeGreaterThan(0);

    // Graceful leave of node2 while the verifier keeps going.
    const leaver = nodes[1]!;
    await leaver.node.leave();
    await leaver.stop();
    const remaining = nodes.filter((running) => running !== leaver);
    await waitForConvergence(remaining, 3);
    // Wait on the load having run (a count, not a duration): a slow machine just takes longer.
    await waitFor(() => verifier.operations() > 20, { message: 'the verifier to complete 20 operations' });
    await verifier.stop();

    expect(verifier.problems).toEqual([]);
    const check = await http(remaining[0]!.url, 'POST', '/api/v1/cache/batch/get', { keys });
    const lost = check.body.results.filter((result: { found: boolean }) => !result.found);
    expect(lost).toEqual([]);
    for (const [key, value] of verifier.acknowledged) {
      expect((await http(remaining[2]!.url, 'GET', cachePath(key))).body.value).toBe(value);
    }
    const metrics = await http(joiner.url, 'GET', '/admin/metrics');
    expect(metrics.body.migration_stats.MigratedKeys).toBeGreaterThan(0);
    expect(metrics.body.cluster_stats.total_nodes).toBe(3);
  });
});

describe('bootstrap', () => {
  it('a node that bootstrapped alone merges into the cluster of a seed that comes up later', async () => {
    const latePort = await holdPort();
    // node2 cannot reach its seed (held, every connection reset) and bootstraps alone after the (short) bootstrap timeout.
    const early = await startNode('node2', [latePort.address], { bootstrapTimeoutMs: 300 });
    try {
      await waitFor(() => early.node.isJoined, { timeoutMs: 5000, message: 'node2 did not bootstrap' });
      const late = await startNode('node1', [], {}, latePort);
      try {
        await waitForConvergence([early, late], 2);
        expect(early.node.table.members.map((member) => member.nodeId)).toEqual(['node1', 'node2']);
      } finally {
        await late.stop();
      }
    } finally {
      await early.stop();
      await latePort.release();
    }
  });
});
