import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachePath, http, type RunningNode, startNode, waitForConvergence } from './cluster-harness';

describe('cluster token on /internal and /admin', () => {
  const nodes: RunningNode[] = [];
  beforeAll(async () => {
    nodes.push(await startNode('node1', [], { clusterToken: 's3cret' }));
    nodes.push(await startNode('node2', [nodes[0]!.address], { clusterToken: 's3cret' }));
    await waitForConvergence(nodes, 2);
  });
  afterAll(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
  });

  it('rejects internal and admin calls without the token with the spec envelope', async () => {
    for (const path of [
      '/admin/nodes',
      '/internal/cluster/table',
      `/internal/cache/${encodeURIComponent('k')}`,
    ]) {
      const response = await http(nodes[0]!.url, 'GET', path);
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ error: 'unauthorized', message: expect.any(String) });
    }
  });

  it('accepts the token as a header or a bearer, and nodes use it between themselves', async () => {
    expect(
      (await http(nodes[0]!.url, 'GET', '/admin/nodes', undefined, { 'x-dcache-token': 's3cret' })).status,
    ).toBe(200);
    expect(
      (await http(nodes[0]!.url, 'GET', '/admin/nodes', undefined, { authorization: 'Bearer s3cret' }))
        .status,
    ).toBe(200);
    // Keys owned by either node: forwarding carries the token.
    for (let index = 0; index < 20; index++) {
      expect(
        (await http(nodes[index % 2]!.url, 'PUT', cachePath(`t${index}`), { value: index })).status,
      ).toBe(200);
      expect((await http(nodes[(index + 1) % 2]!.url, 'GET', cachePath(`t${index}`))).body.value).toBe(index);
    }
  });
});
