import { ManualClock } from '@kvforge/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachePath, http, type RunningNode, startCluster, startNode } from './cluster-harness';

describe('3-node cluster (in-process nodes on real ports)', () => {
  let nodes: RunningNode[] = [];
  beforeAll(async () => {
    nodes = await startCluster(3);
  });
  afterAll(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
  });

  const odd = ['user:1001', 'a/b/c', 'with space', '张三/🙂', 'percent%2Fliteral', 'k'.repeat(1024)];

  it('PUT on one node, GET on every other returns the value with the owner’s node_id', async () => {
    for (const [index, key] of odd.entries()) {
      const writer = nodes[index % 3]!;
      const put = await http(writer.url, 'PUT', cachePath(key), { value: `v-${key}` });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ key, value: `v-${key}`, found: true, message: 'success' });
      const owner = writer.node.holdersOf(key).holders[0];
      expect(put.body.node_id).toBe(owner);
      for (const reader of nodes) {
        const get = await http(reader.url, 'GET', cachePath(key));
        expect(get.status).toBe(200);
        expect(get.body).toEqual({ key, value: `v-${key}`, found: true, node_id: owner });
      }
    }
  });

  it('stores JSON values of any type and reports a miss as found:false', async () => {
    await http(nodes[0]!.url, 'PUT', cachePath('json'), { value: { nested: [1, 'two', null] } });
    expect((await http(nodes[1]!.url, 'GET', cachePath('json'))).body.value).toEqual({
      nested: [1, 'two', null],
    });
    const miss = await http(nodes[2]!.url, 'GET', cachePath('never-set'));
    expect(miss.status).toBe(404);
    expect(miss.body).toMatchObject({ key: 'never-set', found: false });
  });

  it('DELETE removes the key on every node', async () => {
    await http(nodes[0]!.url, 'PUT', cachePath('gone'), { value: 'x' });
    const deleted = await http(nodes[1]!.url, 'DELETE', cachePath('gone'));
    expect(deleted.body).toMatchObject({
      message: 'deleted',
      key: 'gone',
      node_id: nodes[1]!.node.holdersOf('gone').holders[0],
    });
    for (const reader of nodes)
      expect((await http(reader.url, 'GET', cachePath('gone'))).body.found).toBe(false);
  });

  it('replicates every write to a second node', async () => {
    await http(nodes[0]!.url, 'PUT', cachePath('replicated'), { value: 'r' });
    const holders = nodes[0]!.node.holdersOf('replicated').holders;
    expect(holders).toHaveLength(2);
    for (const nodeId of holders) {
      const holder = nodes.find((running) => running.node.nodeId === nodeId)!;
      expect(holder.node.store.peek('replicated')?.valueJson).toBe('"r"');
    }
  });

  it('batch set / get / delete across owners', async () => {
    const items = Array.from({ length: 50 }, (_, index) => ({ key: `batch:${index}`, value: index }));
    const set = await http(nodes[0]!.url, 'POST', '/api/v1/cache/batch/set', { items });
    expect(set.status).toBe(200);
    expect(set.body.count).toBe(50);
    const get = await http(nodes[1]!.url, 'POST', '/api/v1/cache/batch/get', {
      keys: [...items.map((item) => item.key), 'batch:missing'],
    });
    expect(get.body.results).toHaveLength(51);
    for (const [index, result] of get.body.results.slice(0, 50).entries()) {
      expect(result).toMatchObject({ key: `batch:${index}`, value: index, found: true });
    }
    expect(get.body.results[50].found).toBe(false);
    await http(nodes[2]!.url, 'POST', '/api/v1/cache/batch/delete', { keys: items.map((item) => item.key) });
    const after = await http(nodes[0]!.url, 'POST', '/api/v1/cache/batch/get', {
      keys: ['batch:1', 'batch:2'],
    });
    expect(after.body.results.map((result: { found: boolean }) => result.found)).toEqual([false, false]);
  });

  it('answers bad input with the spec envelope and 400', async () => {
    const cases = [
      await http(nodes[0]!.url, 'PUT', cachePath('k'), '{not json'),
      await http(nodes[0]!.url, 'PUT', cachePath('k'), { other: 1 }),
      await http(nodes[0]!.url, 'PUT', cachePath('k'), { value: 'x'.repeat(1024 * 1024 + 10) }),
      await http(nodes[0]!.url, 'PUT', cachePath('k'), { value: 'x', ttl_seconds: -1 }),
      await http(nodes[0]!.url, 'PUT', '/api/v1/cache/', { value: 'x' }),
      await http(nodes[0]!.url, 'POST', '/api/v1/cache/batch/get', { keys: [] }),
      await http(nodes[0]!.url, 'POST', '/internal/cluster/join', { node_id: 'x' }),
    ];
    for (const response of cases) {
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_request');
      expect(typeof response.body.message).toBe('string');
      expect(Number.isNaN(Date.parse(response.body.timestamp))).toBe(false);
    }
    const unknownNode = await http(nodes[0]!.url, 'POST', '/internal/cluster/leave', { node_id: 'nope' });
    expect(unknownNode.status).toBe(500);
    expect(unknownNode.body.error).toBe('node_not_found');
  });

  it('stats, health and admin endpoints reflect the cluster', async () => {
    const stats = await http(nodes[0]!.url, 'GET', '/api/v1/stats');
    expect(stats.body.node_id).toBe('node1');
    expect(stats.body.cache_stats).toMatchObject({
      total_Hits: expect.any(Number),
      total_Misses: expect.any(Number),
    });
    expect(stats.body.cache_stats.total_Size).toBe(nodes[0]!.node.store.snapshotStats().entries);
    expect(stats.body.cluster_stats).toMatchObject({ total_nodes: 3, healthy_nodes: 3, unhealthy_nodes: 0 });
    const health = await http(nodes[1]!.url, 'GET', '/api/v1/health');
    expect(health.body).toMatchObject({ status: 'healthy', node_id: 'node2' });
    expect(health.body.uptime).toBeLessThan(600);
    const cluster = await http(nodes[2]!.url, 'GET', '/admin/cluster');
    expect(cluster.body.current_node).toBe('node3');
    expect(cluster.body.cluster_status.nodes.map((entry: { node_id: string }) => entry.node_id)).toEqual([
      'node1',
      'node2',
      'node3',
    ]);
    const list = await http(nodes[0]!.url, 'GET', '/admin/nodes');
    expect(list.body.count).toBe(3);
    expect(list.body.nodes.node2).toMatchObject({
      node_id: 'node2',
      address: nodes[1]!.address,
      status: 'healthy',
    });
    const metrics = await http(nodes[0]!.url, 'GET', '/admin/metrics');
    expect(metrics.body.migration_stats).toMatchObject({
      MigratedKeys: expect.any(Number),
      Duration: expect.stringMatching(/ms$/),
    });
    expect(metrics.body.cluster_stats).toEqual({ total_nodes: 3, healthy_nodes: 3, unhealthy_nodes: 0 });
  });

  it('exposes Prometheus metrics with hits and forwards', async () => {
    const response = await fetch(`${nodes[0]!.url}/metrics`);
    const text = await response.text();
    expect(text).toMatch(/cache_hits_total\{[^}]*node="node1"[^}]*\} \d+/);
    expect(text).toMatch(/dcache_forwards_total\{[^}]*\} [1-9]/);
    expect(text).toContain('dcache_http_request_duration_seconds_bucket');
  });

  it('rebalance on a balanced ring moves nothing and says so', async () => {
    const response = await http(nodes[1]!.url, 'POST', '/admin/cluster/rebalance');
    expect(response.body).toMatchObject({
      message: 'rebalance completed',
      node_id: 'node2',
      moved_partitions: 0,
    });
  });
});

describe('TTL on a node with a manual clock', () => {
  it('expires values with ttl_seconds when the clock passes the TTL, not before', async () => {
    const clock = new ManualClock(Date.now());
    const running = await startNode('ttl1', [], { clock });
    try {
      await http(running.url, 'PUT', cachePath('short'), { value: 'x', ttl_seconds: 0.2 });
      await http(running.url, 'PUT', cachePath('forever'), { value: 'y' });
      clock.advance(199);
      expect((await http(running.url, 'GET', cachePath('short'))).body.found).toBe(true);
      clock.advance(1);
      expect((await http(running.url, 'GET', cachePath('short'))).status).toBe(404);
      expect((await http(running.url, 'GET', cachePath('forever'))).body.value).toBe('y');
    } finally {
      await running.stop();
    }
  });
});
