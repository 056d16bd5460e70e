import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachePath, http, type RunningNode, startCluster } from './cluster-harness';

/** Issue 15: what a client may send on the public API, and the envelope on everything it may not. */

const expectEnvelope400 = (response: { status: number; body: Record<string, unknown> }) => {
  expect(response.status).toBe(400);
  expect(Object.keys(response.body).sort()).toEqual(['error', 'message', 'timestamp']);
  expect(response.body.error).toBe('invalid_request');
};

/** A key each node of the pair is NOT the primary of: the PUT to `entry` is forwarded. */
function keyForwardedFrom(entry: RunningNode, prefix: string): string {
  for (let index = 0; ; index++) {
    const key = `${prefix}-${index}`;
    if (entry.node.holdersOf(key).holders[0] !== entry.node.nodeId) return key;
  }
}

describe('client input: only value and ttl_seconds, every error in the envelope', () => {
  let nodes: RunningNode[];
  beforeAll(async () => {
    nodes = await startCluster(2, { replicas: 2, writeQuorum: 2 });
  });
  afterAll(async () => {
    await Promise.all(nodes.map((running) => running.stop()));
  });

  it.each([
    [{ value_json: '1,"found":false,"injected":true' }],
    [{ value_json: '{{{' }],
    [{ value: 1, value_json: '{{{' }],
    [{ value: 1, ttl_ms: 5 }],
    [{ value: 1, ttl_seconds: 5, extra: true }],
  ])('PUT %j is a 400 and stores nothing', async (body) => {
    for (const entry of nodes) {
      const key = keyForwardedFrom(entry, 'inject');
      expectEnvelope400(await http(entry.url, 'PUT', cachePath(key), body));
      const read = await http(entry.url, 'GET', cachePath(key));
      expect(read.status).toBe(404);
      expect(read.body).toEqual({ key, value: null, found: false, node_id: expect.any(String) });
    }
  });

  it('batch/set items with value_json or ttl_ms are a 400 and store nothing', async () => {
    for (const item of [
      { key: 'batch-inject', value_json: '{{{' },
      { key: 'batch-inject', value: 1, ttl_ms: 1 },
    ]) {
      expectEnvelope400(await http(nodes[0]!.url, 'POST', '/api/v1/cache/batch/set', { items: [item] }));
    }
    const read = await http(nodes[0]!.url, 'POST', '/api/v1/cache/batch/get', { keys: ['batch-inject'] });
    expect(read.status).toBe(200);
    expect(read.body.results[0].found).toBe(false);
  });

  it('a value that looks like JSON fragments is stored as a string, on the owner and forwarded', async () => {
    const tricky = '1,"found":false,"injected":true}{{{';
    for (const entry of nodes) {
      const key = keyForwardedFrom(entry, 'tricky');
      const written = await http(entry.url, 'PUT', cachePath(key), { value: tricky, ttl_seconds: 60 });
      expect(written.status).toBe(200);
      expect(written.body.value).toBe(tricky);
      for (const reader of nodes) {
        const read = await http(reader.url, 'GET', cachePath(key));
        expect(read.body).toEqual({ key, value: tricky, found: true, node_id: expect.any(String) });
      }
      const batch = await http(entry.url, 'POST', '/api/v1/cache/batch/get', { keys: [key] });
      expect(batch.body.results[0].value).toBe(tricky);
    }
  });

  it('forwarded batch/set stores every JSON value type unchanged', async () => {
    const values = ['s', 0, -1.5e300, true, null, [1, { a: '"' }], { nested: { deep: ['\u2028'] } }];
    const items = values.map((value, index) => ({ key: `typed-${index}`, value }));
    expect((await http(nodes[1]!.url, 'POST', '/api/v1/cache/batch/set', { items })).status).toBe(200);
    const read = await http(nodes[0]!.url, 'POST', '/api/v1/cache/batch/get', {
      keys: items.map((item) => item.key),
    });
    expect(read.body.results.map((result: { value: unknown }) => result.value)).toEqual(values);
  });

  it.each([
    ['GET', '/api/v1/cache/%ZZ'],
    ['GET', '/api/v1/cache/a%'],
    ['PUT', '/api/v1/cache/%E0%A4%A'],
    ['DELETE', '/api/v1/cache/%C0%AF'],
    ['GET', '/internal/cache/%ZZ'],
    ['PUT', '/internal/cache/%'],
  ] as const)('%s %s (bad percent-encoding) is a 400 envelope', async (method, path) => {
    const body = method === 'PUT' ? { value: 1 } : undefined;
    expectEnvelope400(await http(nodes[0]!.url, method, path, body));
  });

  it('keys are bounded by maxKeyBytes (4 KiB), in the path and in batches', async () => {
    const longest = 'k'.repeat(4096);
    expect((await http(nodes[0]!.url, 'PUT', cachePath(longest), { value: 1 })).status).toBe(200);
    expect((await http(nodes[1]!.url, 'GET', cachePath(longest))).body.value).toBe(1);
    const tooLong = '键'.repeat(1366); // 4098 UTF-8 bytes
    expectEnvelope400(await http(nodes[0]!.url, 'PUT', cachePath(tooLong), { value: 1 }));
    expectEnvelope400(await http(nodes[0]!.url, 'GET', cachePath(tooLong)));
    expectEnvelope400(await http(nodes[0]!.url, 'POST', '/api/v1/cache/batch/get', { keys: [tooLong] }));
    expectEnvelope400(
      await http(nodes[0]!.url, 'POST', '/api/v1/cache/batch/set', { items: [{ key: tooLong, value: 1 }] }),
    );
  });

  it('a URL beyond the 16 KiB request-head limit gets the envelope, and the node keeps serving', async () => {
    const response = await request(`${nodes[0]!.url}/api/v1/cache/${'x'.repeat(20_000)}`);
    expect(response.statusCode).toBe(400);
    const body = (await response.body.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['error', 'message', 'timestamp']);
    expect(body.error).toBe('invalid_request');
    expect((await http(nodes[0]!.url, 'GET', '/api/v1/health')).status).toBe(200);
  });
});
