import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_PATHS } from '../src/core/internal-api';
import { decodeReadFrame } from '../src/core/read-frame';
import { cachePath, http, type RunningNode, startCluster } from './cluster-harness';

/**
 * Forwarded GETs of one event-loop turn go to their owner as one POST /internal/batch/reads
 * (ForwardedReadBatcher). Two in-process nodes, replicas 1: every key node1 does not own is
 * forwarded to node2.
 */
describe('batched forwarded reads', () => {
  let nodes: RunningNode[];
  beforeAll(async () => {
    nodes = await startCluster(2, { replicas: 1, writeQuorum: 1 });
  });
  afterAll(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
  });

  const ownedByNode2 = (prefix: string, count: number) =>
    Array.from({ length: 2000 }, (_, index) => `${prefix}/${index}/ключ`)
      .filter((key) => nodes[0]!.node.holdersOf(key).holders[0] === 'node2')
      .slice(0, count);

  const batchRequests = async (node: RunningNode) => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (row) => row.startsWith('dcache_http_request_duration_seconds_count') && row.includes('batch/reads'),
      );
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };

  it('concurrent GETs through a non-owner: each gets its own body (hits and misses), in fewer owner requests', async () => {
    const [node1, node2] = nodes as [RunningNode, RunningNode];
    const keys = ownedByNode2('batched', 60);
    expect(keys.length).toBe(60);
    const stored = keys.filter((_, index) => index % 3 !== 0);
    for (const key of stored)
      expect((await http(node2.url, 'PUT', cachePath(key), { value: { key } })).status).toBe(200);
    // A first round opens the client's connections; the second one arrives on open sockets.
    await Promise.all(keys.map((key) => http(node1.url, 'GET', cachePath(key))));
    const before = await batchRequests(node2);
    const forwardsBefore = node1.node.counters.forwards;

    const answers = await Promise.all(keys.map((key) => http(node1.url, 'GET', cachePath(key))));
    for (const [index, key] of keys.entries()) {
      const hit = index % 3 !== 0;
      expect(answers[index]!.status, key).toBe(hit ? 200 : 404);
      expect(answers[index]!.body).toEqual({
        key,
        value: hit ? { key } : null,
        found: hit,
        node_id: 'node2',
      });
    }
    expect(node1.node.counters.forwards - forwardsBefore).toBe(keys.length);
    const batches = (await batchRequests(node2)) - before;
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(keys.length);
  });

  it('the owner answers a read frame: 200/404 bodies as a single GET would, 421 for a key it does not hold', async () => {
    const [node1, node2] = nodes as [RunningNode, RunningNode];
    const [held, missing] = ownedByNode2('frame', 2) as [string, string];
    const notHeld = Array.from({ length: 500 }, (_, index) => `frame-other/${index}`).find(
      (key) => node1.node.holdersOf(key).holders[0] === 'node1',
    ) as string;
    expect((await http(node1.url, 'PUT', cachePath(held), { value: 'v' })).status).toBe(200);
    const response = await fetch(`${node2.url}${INTERNAL_PATHS.batchReads}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keys: [held, notHeld, missing] }),
    });
    expect(response.status).toBe(200);
    const entries = decodeReadFrame(Buffer.from(await response.arrayBuffer()), 3);
    expect(entries?.map((entry) => entry.statusCode)).toEqual([200, 421, 404]);
    const single = await http(node2.url, 'GET', INTERNAL_PATHS.cache(held));
    expect(JSON.parse(entries![0]!.body.toString())).toEqual(single.body);
    expect(JSON.parse(entries![2]!.body.toString())).toEqual({
      key: missing,
      value: null,
      found: false,
      node_id: 'node2',
    });

    // A key node1 forwards but node2 answers 421 for takes the single-key path and still gets its answer.
    expect((await http(node2.url, 'GET', cachePath(notHeld))).status).toBe(404);
  });

  it('a malformed batch is a 400 envelope', async () => {
    const answer = await http(nodes[1]!.url, 'POST', INTERNAL_PATHS.batchReads, { keys: [] });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
  });
});
