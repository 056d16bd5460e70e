import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRestApp } from './rest-app';

type Context = Awaited<ReturnType<typeof buildRestApp>>;
let context: Context;

beforeEach(async () => {
  context = await buildRestApp();
});
afterEach(async () => {
  await context.app.close();
});

async function call(
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  url: string,
  payload?: string,
  contentType?: string,
) {
  const response = await context.app.inject({
    method,
    url,
    payload,
    headers: contentType ? { 'content-type': contentType } : {},
  });
  return response;
}

function expectError(response: Awaited<ReturnType<typeof call>>, message: string) {
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  const body = response.json();
  expect(body.success).toBe(false);
  expect(body.error_message).toBe(message);
  expect(Math.abs(body.timestamp - Date.now() / 1000)).toBeLessThan(120);
}

describe('memcache-hybrid REST', () => {
  it('metadata: put raw text (form content type, JSON-looking too), get it byte for byte, delete', async () => {
    const put = await call(
      'PUT',
      '/metadata?key=demo',
      '{"not":"parsed"}',
      'application/x-www-form-urlencoded',
    );
    expect(put.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(put.body).toBe('metadata updated');
    const get = await call('GET', '/metadata?key=demo');
    expect(get.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(get.body).toBe('{"not":"parsed"}');
    expect((await call('DELETE', '/metadata?key=demo')).body).toBe('metadata deleted');
    expectError(await call('GET', '/metadata?key=demo'), 'Metadata key not found');
    expectError(await call('DELETE', '/metadata?key=demo'), 'Metadata key not found');
    expectError(await call('GET', '/metadata'), "Missing 'key' parameter");
    expectError(await call('PUT', '/metadata?key=', 'x'), "Missing 'key' parameter");
  });

  it('health, role, ha_status and leader', async () => {
    const health = await call('GET', '/health');
    expect(health.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(health.json()).toEqual({
      status: 'ok',
      role: 'leader',
      ha_state: 'serving',
      service_ready: true,
      leader_address: 'http://127.0.0.1:8000',
      view_version: 0,
    });
    expect((await call('GET', '/role')).body).toBe('leader');
    expect((await call('GET', '/ha_status')).body).toBe('serving');
    expect((await call('GET', '/leader')).json()).toEqual({
      present: true,
      leader_address: 'http://127.0.0.1:8000',
      view_version: 0,
    });
  });

  it('query_key and batch_query_keys count as queries; internal endpoints count nothing', async () => {
    context.put('key_a', 100, 2);
    const query = await call('GET', '/query_key?key=key_a&key=ignored');
    expect(query.json()).toEqual({
      key: 'key_a',
      size: 100,
      prot: 0,
      numBlobs: 2,
      valid: true,
      blobs: [
        { rank: expect.any(Number), medium: 'DRAM' },
        { rank: expect.any(Number), medium: 'DRAM' },
      ],
    });
    expectError(await call('GET', '/query_key?key=nope'), 'Key not found');
    const batch = await call('GET', '/batch_query_keys?keys=key_a,,nope,key_a,');
    expect(batch.json()).toEqual({
      success: true,
      data: [
        expect.objectContaining({ key: 'key_a', valid: true }),
        { key: 'nope', size: 0, prot: 0, numBlobs: 0, valid: false, blobs: [] },
        expect.objectContaining({ key: 'key_a', valid: true }),
      ],
    });
    expect((await call('GET', '/batch_query_keys?keys=')).json()).toEqual({ success: true, data: [] });
    expectError(await call('GET', '/batch_query_keys'), "Missing 'keys' parameter");
    for (const path of [
      '/health',
      '/metrics',
      '/metrics/summary',
      '/get_all_segments',
      '/api/v1/capacity/usage',
    ]) {
      await call('GET', path);
    }
    const summary = (await call('GET', '/metrics/summary')).body;
    expect(summary).toContain(' query_req=5 query_success=3 query_fail=0 query_not_found=2 ');
    expect(summary).toContain(
      ' batch_query_req=2 batch_query_success=2 batch_query_fail=0 batch_query_not_found=1 ',
    );
    expect(summary).toContain(' get_all_keys_req=0 ');
  });

  it('get_all_keys, DELETE /key and DELETE /all_keys', async () => {
    expect((await call('GET', '/get_all_keys')).body).toBe('');
    context.put('a', 10);
    context.put('b', 10);
    const keys = await call('GET', '/get_all_keys');
    expect(keys.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(keys.body.split('\n').sort()).toEqual(['', 'a', 'b']);
    expect(keys.body.endsWith('\n')).toBe(true);
    expect((await call('DELETE', '/key?key=a')).json()).toEqual({ success: true, message: 'key deleted' });
    expectError(await call('DELETE', '/key?key=a'), 'Key not found');
    expect((await call('DELETE', '/all_keys')).json()).toEqual({
      success: true,
      message: 'all keys deleted',
    });
    expect((await call('GET', '/get_all_keys')).body).toBe('');
    const summary = (await call('GET', '/metrics/summary')).body;
    expect(summary).toContain(' remove_req=2 remove_success=1 remove_fail=0 remove_not_found=1 ');
    expect(summary).toContain(' remove_all_req=1 remove_all_success=1 remove_all_fail=0 ');
  });

  it('segments, capacity and segment status', async () => {
    context.service.mount(3, 0, 128 * 1024);
    context.put('k', 32 * 1024);
    expect((await call('GET', '/get_all_segments')).body).toBe('rank-3-hbm\nrank-0-dram\nrank-1-dram\n');
    const usage = (await call('GET', '/api/v1/capacity/usage')).json();
    expect(usage).toMatchObject({
      data_source_ready: true,
      degraded: false,
      npu: { total_bytes: 131072, used_bytes: 0, free_bytes: 131072, usage_ratio: 0 },
      cpu: { total_bytes: 131072, used_bytes: 32768, free_bytes: 98304, usage_ratio: 0.25 },
    });
    const remaining = (await call('GET', '/api/v1/capacity/segment_remaining')).json();
    expect(remaining.segments.map((segment: { segment_name: string }) => segment.segment_name)).toEqual([
      'rank-3-hbm',
      'rank-0-dram',
      'rank-1-dram',
    ]);
    const used = remaining.segments.find((segment: { used_bytes: number }) => segment.used_bytes > 0);
    expect(used).toMatchObject({
      medium: 'DRAM',
      total_bytes: 65536,
      used_bytes: 32768,
      remaining_ratio: 0.5,
    });
    const query = (await call('GET', `/query_segment?segment=${used.segment_name}`)).json();
    expect(query).toEqual({
      segment: used.segment_name,
      medium: 'DRAM',
      total_bytes: 65536,
      used_bytes: 32768,
      remaining_bytes: 32768,
      remaining_ratio: 0.5,
    });
    expectError(await call('GET', '/query_segment?segment=rank-9-hbm'), 'Segment not found');
    expectError(await call('GET', '/query_segment'), "Missing 'segment' parameter");
    expect((await call('GET', '/api/v1/segments/status?segment=rank-3-hbm')).json()).toEqual({
      success: true,
      segment: 'rank-3-hbm',
      status: 1,
      status_name: 'OK',
    });
    expectError(await call('GET', '/api/v1/segments/status?segment=x'), 'Segment not found');
  });

  it('metrics, ptracer and alloc/free latency in their content types', async () => {
    context.put('k', 10);
    context.service.remove('k');
    const metrics = await call('GET', '/metrics');
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4');
    expect(metrics.body).toContain('memcache_alloc_requests_total 1\n');
    expect(metrics.body).toContain('memcache_stored_keys 0\n');
    const ptracer = await call('GET', '/metrics/ptracer');
    expect(ptracer.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(ptracer.body).toContain('TP_MMC_META_PUT');
    const latency = (await call('GET', '/api/v1/analysis/alloc_free_latency')).body;
    expect(latency).toContain('TP_MMC_META_ALLOC');
    expect(latency).toContain('TP_MMC_META_REMOVE');
    expect(latency).not.toContain('TP_MMC_META_PUT');
  });

  it('drain jobs answer Not supported, even with an empty JSON body', async () => {
    expectError(await call('POST', '/api/v1/drain_jobs', '', 'application/json'), 'Not supported');
    expectError(await call('GET', '/api/v1/drain_jobs/query?job_id=1'), 'Not supported');
    expectError(await call('POST', '/api/v1/drain_jobs/cancel?job_id=1'), 'Not supported');
    expect((await call('GET', '/no/such/path')).statusCode).toBe(404);
  });
});
