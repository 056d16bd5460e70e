import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRestApp } from './rest-app';

type Context = Awaited<ReturnType<typeof buildRestApp>>;
let context: Context;

beforeEach(async () => {
  context = await buildRestApp();
  context.put('kept', 4096);
  await context.app.inject({ method: 'PUT', url: '/metadata?key=kept', payload: 'value' });
});
afterEach(async () => {
  await context.app.close();
});

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
interface BadRequest {
  method: Method;
  url: string;
  payload?: string;
  contentType?: string;
  /** The error_message the client must read. */
  reason: string;
}

const unknown = (name: string) => `Unknown parameter '${name}'`;
const missing = (name: string) => `Missing '${name}' parameter`;
const BODY = { payload: '{"oops":', contentType: 'application/json', reason: 'Unexpected request body' };

/** Every route of the spec with the malformed inputs it can receive (query, and body where one is read). */
const ROUTES: { method: Method; path: string; bad: Omit<BadRequest, 'method'>[] }[] = [
  ...['/health', '/metrics', '/metrics/summary', '/metrics/ptracer', '/role', '/ha_status', '/leader'].map(
    (path) => ({
      method: 'GET' as const,
      path,
      bad: [{ url: `${path}?verbose=1`, reason: unknown('verbose') }],
    }),
  ),
  ...[
    '/get_all_keys',
    '/get_all_segments',
    '/api/v1/capacity/usage',
    '/api/v1/capacity/segment_remaining',
    '/api/v1/analysis/alloc_free_latency',
  ].map((path) => ({ method: 'GET' as const, path, bad: [{ url: `${path}?x=`, reason: unknown('x') }] })),
  ...['/metadata', '/query_key'].map((path) => ({
    method: 'GET' as const,
    path,
    bad: [
      { url: path, reason: missing('key') },
      { url: `${path}?key=`, reason: missing('key') },
      { url: `${path}?kye=kept`, reason: missing('key') },
      { url: `${path}?key=kept&kye=1`, reason: unknown('kye') },
      { url: `${path}?key[]=kept`, reason: missing('key') },
    ],
  })),
  {
    method: 'PUT',
    path: '/metadata',
    bad: [
      { url: '/metadata', payload: 'v', contentType: 'text/plain', reason: missing('key') },
      { url: '/metadata?key=', payload: 'v', contentType: 'text/plain', reason: missing('key') },
      { url: '/metadata?key=kept&as=json', payload: 'v', contentType: 'text/plain', reason: unknown('as') },
      {
        url: '/metadata?key=kept',
        payload: 'x'.repeat(1024 * 1024 + 1),
        contentType: 'text/plain',
        reason: 'Request body is too large',
      },
    ],
  },
  ...['/metadata', '/key'].map((path) => ({
    method: 'DELETE' as const,
    path,
    bad: [
      { url: path, reason: missing('key') },
      { url: `${path}?key=%20&force=1`, reason: unknown('force') },
      { url: `${path}?key=kept`, ...BODY },
    ],
  })),
  {
    method: 'GET',
    path: '/batch_query_keys',
    bad: [
      { url: '/batch_query_keys', reason: missing('keys') },
      { url: '/batch_query_keys?key=kept', reason: missing('keys') },
    ],
  },
  {
    method: 'DELETE',
    path: '/all_keys',
    bad: [
      { url: '/all_keys?confirm=yes', reason: unknown('confirm') },
      { url: '/all_keys', ...BODY },
    ],
  },
  ...['/query_segment', '/api/v1/segments/status'].map((path) => ({
    method: 'GET' as const,
    path,
    bad: [
      { url: path, reason: missing('segment') },
      { url: `${path}?segment=`, reason: missing('segment') },
      { url: `${path}?segment_id=rank-0-dram`, reason: missing('segment') },
    ],
  })),
  // Drain jobs are not implemented: whatever they are sent, they answer Not supported (decision 11).
  {
    method: 'POST',
    path: '/api/v1/drain_jobs',
    bad: [{ url: '/api/v1/drain_jobs?x=1', ...BODY, reason: 'Not supported' }],
  },
  {
    method: 'GET',
    path: '/api/v1/drain_jobs/query',
    bad: [{ url: '/api/v1/drain_jobs/query?job_id=1&job_id=2&x', reason: 'Not supported' }],
  },
  {
    method: 'POST',
    path: '/api/v1/drain_jobs/cancel',
    bad: [{ url: '/api/v1/drain_jobs/cancel', ...BODY, reason: 'Not supported' }],
  },
];

describe('memcache-hybrid REST: malformed input', () => {
  it('covers all 24 routes of the spec', () => {
    expect(new Set(ROUTES.map((route) => `${route.method} ${route.path}`)).size).toBe(24);
    for (const route of ROUTES)
      expect(context.app.hasRoute({ method: route.method, url: route.path })).toBe(true);
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.path} answers the HTTP-200 error form, never a 500, and loses nothing`, async () => {
      for (const bad of route.bad) {
        const response = await context.app.inject({
          method: route.method,
          url: bad.url,
          ...(bad.payload === undefined ? {} : { payload: bad.payload }),
          headers: bad.contentType ? { 'content-type': bad.contentType } : {},
        });
        expect({ url: bad.url, status: response.statusCode }).toEqual({ url: bad.url, status: 200 });
        expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
        const body = response.json();
        expect(Object.keys(body)).toEqual(['success', 'error_message', 'timestamp']);
        expect(body).toMatchObject({ success: false, error_message: bad.reason });
        expect(Number.isInteger(body.timestamp)).toBe(true);
      }
      // Bad input from one client never touches what another stored.
      expect(context.service.existKey('kept')).toBe(0);
      const metadata = await context.app.inject({ method: 'GET', url: '/metadata?key=kept' });
      expect(metadata.body).toBe('value');
    });
  }
});
