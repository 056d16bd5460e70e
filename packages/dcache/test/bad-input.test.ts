import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachePath, http, type RunningNode, startNode } from './cluster-harness';

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** One malformed request per route: a bad body, query or parameter (the route list is the spec's plus additions). */
const MALFORMED: Array<[Method, string, unknown]> = [
  ['GET', '/api/v1/cache', undefined],
  ['PUT', '/api/v1/cache', { value: 1 }],
  ['DELETE', '/api/v1/cache', undefined],
  ['GET', '/api/v1/cache/', undefined],
  ['GET', '/api/v1/cache/%E0%A4%A', undefined],
  ['PUT', cachePath('k'), { ttl_seconds: 5 }],
  ['PUT', cachePath('k'), { value: 1, ttl_seconds: 'soon' }],
  ['PUT', cachePath('k'), '"just a string"'],
  ['POST', '/api/v1/cache/batch/get', { keys: 'k' }],
  ['POST', '/api/v1/cache/batch/get', { keys: ['a', ''] }],
  ['POST', '/api/v1/cache/batch/set', { items: [{ key: 'a' }] }],
  ['POST', '/api/v1/cache/batch/set', { items: [] }],
  ['POST', '/api/v1/cache/batch/delete', { keys: [1, 2] }],
  ['GET', '/api/v1/stats?verbose=1', undefined],
  ['GET', '/api/v1/health?x=1', undefined],
  ['GET', '/api/v1/cluster/ring?x=1', undefined],
  ['GET', '/internal/cache/', undefined],
  ['PUT', '/internal/cache/k', { value_json: 7 }],
  ['DELETE', '/internal/cache/', undefined],
  ['POST', '/internal/batch/get', {}],
  ['POST', '/internal/batch/set', { items: [{ value: 1 }] }],
  ['POST', '/internal/batch/delete', { keys: [] }],
  ['POST', '/internal/replicate', { entries: [['k', '1', 'v1', 0, 0]] }],
  ['POST', '/internal/migrate/fetch', { partitions: [-1] }],
  ['POST', '/internal/migrate/fetch', { partitions: [100_000] }],
  ['POST', '/internal/cluster/join', { node_id: 'x', address: 'no-port' }],
  ['POST', '/internal/cluster/join', { node_id: '', address: '127.0.0.1:1' }],
  ['POST', '/internal/cluster/leave', { node: 'x' }],
  ['GET', '/internal/cluster/health?x=1', undefined],
  ['GET', '/internal/cluster/table?x=1', undefined],
  ['POST', '/internal/cluster/table', { version: 999, partitionCount: 271, owners: [], members: [] }],
  ['POST', '/internal/cluster/probe', { node_id: 'x' }],
  ['GET', '/admin/cluster?x=1', undefined],
  ['GET', '/admin/nodes?x=1', undefined],
  ['GET', '/admin/metrics?x=1', undefined],
  ['POST', '/admin/cluster/rebalance', { force: true }],
];

describe('malformed input on every route answers the dcache envelope with 400, never a 500', () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode('node1', []);
  });
  afterAll(async () => {
    await node.stop();
  });

  it.each(MALFORMED)('%s %s', async (method, path, body) => {
    const response = await http(node.url, method, path, body);
    expect(response.status).toBe(400);
    expect(Object.keys(response.body).sort()).toEqual(['error', 'message', 'timestamp']);
    expect(response.body.error).toBe('invalid_request');
    expect(response.body.message.length).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(response.body.timestamp))).toBe(false);
  });

  it('invalid JSON on every body route is a 400 envelope too', async () => {
    for (const [method, path] of MALFORMED.filter(([method]) => method === 'PUT' || method === 'POST')) {
      const response = await request(`${node.url}${path.split('?')[0]}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: '{"broken":',
      });
      expect(response.statusCode, `${method} ${path}`).toBe(400);
      expect(((await response.body.json()) as { error: string }).error).toBe('invalid_request');
    }
  });
});

describe('POST /internal/cluster/table cannot brick a node', () => {
  let node: RunningNode;
  beforeAll(async () => {
    node = await startNode('node1', []);
  });
  afterAll(async () => {
    await node.stop();
  });

  it('rejects unroutable and stale tables with 400 and keeps serving with its own table', async () => {
    expect((await http(node.url, 'PUT', cachePath('kept'), { value: 'still here' })).status).toBe(200);
    const before = structuredClone(node.node.table);
    const good = node.node.table;
    const strangers = good.owners.map(() => ['node9']);
    const rejected = [
      { version: 999, partitionCount: 271, owners: [], members: [] },
      { ...good, version: 999, coordinator: 'node1', partitionCount: 16 },
      { ...good, version: 999, owners: strangers },
      { ...good, version: 999, owners: good.owners.slice(1) },
      { ...good, version: 999, members: [{ nodeId: 'node1', address: 'nowhere' }] },
      // Well formed but not newer: installing it would roll the ring back.
      { ...good, version: 0 },
    ];
    for (const table of rejected) {
      const response = await http(node.url, 'POST', '/internal/cluster/table', table);
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_request');
    }
    expect(node.node.table).toEqual(before);
    const read = await http(node.url, 'GET', cachePath('kept'));
    expect(read).toMatchObject({ status: 200, body: { value: 'still here', found: true } });
  });

  it('installs a valid newer table', async () => {
    const next = { ...node.node.table, version: node.node.table.version + 1 };
    const response = await http(node.url, 'POST', '/internal/cluster/table', next);
    expect(response.body).toMatchObject({ installed: true, ring_version: next.version, node_id: 'node1' });
  });
});
