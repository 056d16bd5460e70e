import { createHttpServer, loadConfig } from '@kvforge/common-http';
import { createMetricsRegistry } from '@kvforge/metrics';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunyuConfigSchema } from '../src/config/config-schema';
import { GUNYU_ERROR_ENVELOPE } from '../src/http/gunyu-error-envelope';
import { gunyuPlugin } from '../src/http/gunyu-plugin';
import { SyncService } from '../src/sync-service';

// Validation answers before any handler runs, so the service is never started: no Redis is needed.
let app: FastifyInstance;
let shutdownRequests = 0;

beforeAll(async () => {
  const config = loadConfig(gunyuConfigSchema, [
    { input: { redis: { addresses: ['127.0.0.1:1'] } }, output: { redis: { addresses: ['127.0.0.1:2'] } } },
  ]);
  const service = new SyncService(config);
  app = createHttpServer({ errorEnvelope: GUNYU_ERROR_ENVELOPE });
  await app.register(gunyuPlugin, {
    service,
    registry: createMetricsRegistry(),
    metricRoutePath: config.server.metricRoutePath,
    onShutdownRequested: () => {
      shutdownRequests++;
    },
  });
});

afterAll(async () => {
  await app?.close();
});

type Method = 'GET' | 'POST' | 'DELETE';
/** Every route of the plugin (the metrics route belongs to @kvforge/metrics). */
const ROUTES: { method: Method; url: string }[] = [
  { method: 'GET', url: '/debug/health' },
  { method: 'DELETE', url: '/' },
  { method: 'GET', url: '/storage/gc' },
  { method: 'POST', url: '/storage/gc' },
  { method: 'GET', url: '/syncer/status' },
  { method: 'GET', url: '/syncer/config' },
  { method: 'POST', url: '/syncer/restart' },
  { method: 'POST', url: '/syncer/stop' },
  { method: 'POST', url: '/syncer/pause?inputs=all' },
  { method: 'POST', url: '/syncer/resume?inputs=all' },
  { method: 'POST', url: '/syncer/handover?inputs=all' },
  { method: 'POST', url: '/syncer/fullsync?inputs=all' },
];

/** GunYu's envelope: a bare 4xx status, empty body. */
function expectGunyuClientError(response: { statusCode: number; body: string }, what: string): void {
  expect(response.statusCode, what).toBeGreaterThanOrEqual(400);
  expect(response.statusCode, what).toBeLessThan(500);
  expect(response.body, what).toBe('');
}

const WITH_BODY = ROUTES.filter((route) => route.method !== 'GET'); // fastify never reads a GET body

describe('ops API: bad input answers a bare 4xx, never a 500', () => {
  it.each(ROUTES)('$method $url: an unknown query key', async ({ method, url }) => {
    const withTypo = `${url}${url.includes('?') ? '&' : '?'}input=all`;
    expectGunyuClientError(await app.inject({ method, url: withTypo }), `${method} ${withTypo}`);
  });

  it.each(WITH_BODY)('$method $url: a malformed JSON body', async ({ method, url }) => {
    const response = await app.inject({
      method,
      url,
      headers: { 'content-type': 'application/json' },
      payload: '{"inputs": [1, 2',
    });
    expectGunyuClientError(response, `${method} ${url}`);
  });

  it.each(WITH_BODY)('$method $url: a well-formed body where none is taken', async ({ method, url }) => {
    const response = await app.inject({ method, url, payload: { inputs: 'all', flushdb: 'yes' } });
    expectGunyuClientError(response, `${method} ${url}`);
  });

  it.each([
    '/syncer/pause',
    '/syncer/pause?inputs=',
    '/syncer/pause?inputs=%20',
    '/syncer/pause?inputs=all&flushdb=maybe',
    '/syncer/resume?inputs=10.0.0.1:1',
    '/syncer/resume?inputs=all&inputs=all',
    '/syncer/handover',
    '/syncer/handover?inputs=nope',
    '/syncer/fullsync',
    '/syncer/fullsync?inputs=nope',
    '/syncer/fullsync?inputs=all&flushdb=1',
    '/syncer/fullsync?inputs=all&flushdb=yes&flushCommand=BOGUS',
    '/syncer/fullsync?inputs=all&flushdb=yes&flushCommand=DEBUG%20SEGFAULT',
  ])('POST %s: a missing or malformed query', async (url) => {
    expectGunyuClientError(await app.inject({ method: 'POST', url }), url);
  });

  it('GET /syncer/config with an unknown format', async () => {
    expectGunyuClientError(await app.inject({ method: 'GET', url: '/syncer/config?format=xml' }), 'format');
  });

  it('an unknown route answers a bare 404', async () => {
    expectGunyuClientError(await app.inject({ method: 'GET', url: '/syncer/nope' }), '404');
  });

  it('no bad request reached a handler with side effects', () => {
    expect(shutdownRequests).toBe(0);
  });
});
