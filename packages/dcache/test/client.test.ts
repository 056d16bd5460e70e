import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DcacheClient } from '../src/index';
import { type RunningNode, startCluster, startNode, waitForConvergence } from './cluster-harness';

describe('DcacheClient against a 3-node cluster', () => {
  let nodes: RunningNode[] = [];
  let client: DcacheClient;
  beforeAll(async () => {
    nodes = await startCluster(3);
    client = await DcacheClient.connect({ nodes: [nodes[2]!.address], refreshIntervalMs: 0 });
  });
  afterAll(async () => {
    await client.close();
    await Promise.all(nodes.map((running) => running.stop()));
  });

  const forwards = () => nodes.reduce((sum, running) => sum + running.node.counters.forwards, 0);

  it('routes ≥ 95% of requests straight to the owner (no forward hop on the server)', async () => {
    const forwardsBefore = forwards();
    for (let index = 0; index < 300; index++) await client.set(`sdk:${index}/ü`, { index });
    for (let index = 0; index < 300; index++) {
      const result = await client.get<{ index: number }>(`sdk:${index}/ü`);
      expect(result.value).toEqual({ index });
    }
    expect(client.stats.direct / client.stats.total).toBeGreaterThanOrEqual(0.95);
    expect(forwards() - forwardsBefore).toBeLessThanOrEqual(30);
    expect((await client.get('sdk:absent')).found).toBe(false);
  });

  it('batchGet / batchSet send one request per owner and round-trip values', async () => {
    const entries: Record<string, unknown> = {};
    for (let index = 0; index < 200; index++) entries[`bulk:${index}`] = `value ${index}`;
    await client.batchSet(entries);
    const values = await client.batchGet([...Object.keys(entries), 'bulk:absent']);
    expect(values.size).toBe(200);
    expect(values.get('bulk:7')).toBe('value 7');
    expect(values.has('bulk:absent')).toBe(false);
    await client.batchDelete(['bulk:1', 'bulk:2']);
    expect((await client.batchGet(['bulk:1', 'bulk:2', 'bulk:3'])).size).toBe(1);
  });

  it('follows a ring change (join) and keeps reading every key', async () => {
    const versionBefore = client.ringVersion;
    const joiner = await startNode('node4', [nodes[0]!.address]);
    nodes.push(joiner);
    await waitForConvergence(nodes, 4);
    for (let index = 0; index < 300; index++) {
      expect((await client.get<{ index: number }>(`sdk:${index}/ü`)).value).toEqual({ index });
    }
    expect(client.ringVersion).toBeGreaterThan(versionBefore);
    const directBefore = client.stats.direct;
    const totalBefore = client.stats.total;
    for (let index = 0; index < 100; index++) await client.get(`sdk:${index}/ü`);
    expect((client.stats.direct - directBefore) / (client.stats.total - totalBefore)).toBeGreaterThanOrEqual(
      0.95,
    );
  });
});
