import { type EtcdProcess, startEtcd, waitFor } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdMembership } from '../src/index';
import { cachePath, http, type RunningNode, startNode } from './cluster-harness';

describe('etcd membership mode (real etcd)', () => {
  let etcd: EtcdProcess;
  const nodes: Array<RunningNode & { membership: EtcdMembership }> = [];

  async function start(nodeId: string) {
    const running = await startNode(nodeId, [], { membership: 'external' });
    const membership = new EtcdMembership(running.node, {
      endpoints: etcd.endpoints,
      prefix: '/dcache-test',
      leaseTtlSeconds: 2,
    });
    await membership.start();
    const entry = { ...running, membership };
    nodes.push(entry);
    return entry;
  }

  const converged = (list: RunningNode[], count: number) =>
    waitFor(
      () =>
        new Set(list.map((running) => running.node.table.version)).size === 1 &&
        list.every((running) => running.node.table.members.length === count && !running.node.isMigrating),
      { timeoutMs: 15_000, message: 'etcd-managed cluster did not converge' },
    );

  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    for (const running of nodes) {
      await running.membership.stop();
      await running.stop();
    }
    await etcd.stop();
  });

  it('forms one ring, survives a graceful leave and a crash (heartbeat expiry) without losing keys', async () => {
    const [first, second, third] = [await start('node1'), await start('node2'), await start('node3')];
    await converged([first, second, third], 3);
    const keys = Array.from({ length: 200 }, (_, index) => `etcd/${index}`);
    const items = keys.map((key, index) => ({ key, value: index }));
    expect((await http(second.url, 'POST', '/api/v1/cache/batch/set', { items })).status).toBe(200);

    // Graceful leave of the coordinator (lowest id): the next lowest publishes the table.
    await first.membership.leave(10_000);
    await first.membership.stop();
    await first.stop();
    await converged([second, third], 2);
    const afterLeave = await http(third.url, 'POST', '/api/v1/cache/batch/get', { keys });
    expect(afterLeave.body.results.filter((result: { found: boolean }) => !result.found)).toEqual([]);

    // A crash: no deregistration, the heartbeat goes stale; replicas 2 keeps every key.
    const fourth = await start('node4');
    await converged([second, third, fourth], 3);
    await third.membership.stop();
    await third.stop();
    await converged([second, fourth], 2);
    const afterCrash = await http(fourth.url, 'POST', '/api/v1/cache/batch/get', { keys });
    expect(afterCrash.body.results.filter((result: { found: boolean }) => !result.found)).toEqual([]);
    expect((await http(second.url, 'GET', cachePath('etcd/7'))).body.value).toBe(7);
    expect(
      (await http(second.url, 'POST', '/internal/cluster/join', { node_id: 'x', address: 'h:1' })).body.error,
    ).toBe('add_node_error');
  }, 60_000);
});
