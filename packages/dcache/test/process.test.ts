import { getFreePort, waitFor } from '@kvforge/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { cachePath, http } from './cluster-harness';
import { members, type NodeProcess, spawnNode } from './process-harness';

describe('real node processes (replicas 2)', () => {
  const running: NodeProcess[] = [];
  afterAll(async () => {
    await Promise.all(running.map((node) => node.process.stop()));
  });

  it('kill -9: every acknowledged write survives, the dead node leaves routing, a restart rejoins; SIGTERM hands off', async () => {
    const ports = [await getFreePort(), await getFreePort(), await getFreePort()];
    const seeds = ports.map((port) => `127.0.0.1:${port}`);
    // The static-seed bootstrap of the example: every node lists the others.
    const started = await Promise.all(
      ['node1', 'node2', 'node3'].map((nodeId, index) =>
        spawnNode(
          nodeId,
          ports[index]!,
          seeds.filter((_, other) => other !== index),
        ),
      ),
    );
    running.push(...started);
    const [node1, node2, node3] = started as [NodeProcess, NodeProcess, NodeProcess];
    await waitFor(
      async () => (await members(node1.url)).length === 3 && (await members(node3.url)).length === 3,
      {
        // Generous: with 1 s failure detection, a starved 2-core CI box can take a few rounds to settle.
        timeoutMs: 60_000,
        message: 'the three processes did not form one cluster',
      },
    );

    const keys = Array.from({ length: 300 }, (_, index) => `proc/${index} ✓`);
    for (const [index, key] of keys.entries()) {
      const put = await http(started[index % 3]!.url, 'PUT', cachePath(key), { value: index });
      expect(put.status).toBe(200);
    }

    await node3.process.kill('SIGKILL');
    await waitFor(async () => (await members(node1.url)).join() === 'node1,node2', {
      timeoutMs: 10_000,
      message: 'node3 was not removed from routing',
    });
    const afterKill = await http(node2.url, 'POST', '/api/v1/cache/batch/get', { keys });
    expect(afterKill.body.results.filter((result: { found: boolean }) => !result.found)).toEqual([]);
    expect(afterKill.body.results.map((result: { value: number }) => result.value)).toEqual(
      keys.map((_, index) => index),
    );

    // Restart: node3 rejoins and pulls its partitions back.
    const restarted = await spawnNode('node3', ports[2]!, [node1.address]);
    running.push(restarted);
    await waitFor(async () => (await members(node2.url)).length === 3, {
      timeoutMs: 15_000,
      message: 'no rejoin',
    });
    await waitFor(
      async () => {
        const stats = await http(restarted.url, 'GET', '/api/v1/stats');
        return stats.body.cache_stats.total_Size > 0;
      },
      { timeoutMs: 15_000, message: 'the restarted node got no data back' },
    );
    const viaRestarted = await http(restarted.url, 'POST', '/api/v1/cache/batch/get', { keys });
    expect(viaRestarted.body.results.every((result: { found: boolean }) => result.found)).toBe(true);

    // SIGTERM: graceful leave, then every key is still readable.
    await node2.process.stop(15_000);
    await waitFor(async () => (await members(node1.url)).join() === 'node1,node3', {
      timeoutMs: 10_000,
      message: 'node2 did not leave the ring',
    });
    const afterLeave = await http(node1.url, 'POST', '/api/v1/cache/batch/get', { keys });
    expect(afterLeave.body.results.filter((result: { found: boolean }) => !result.found)).toEqual([]);
    const health = await http(node1.url, 'GET', '/api/v1/health');
    expect(health.body.uptime).toBeGreaterThanOrEqual(0);
    expect(health.body.uptime).toBeLessThan(300);
  }, 180_000);
});
