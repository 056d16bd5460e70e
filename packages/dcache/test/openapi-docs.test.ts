import { findUndocumentedRoutes, registeredRoutes } from '@kvforge/common-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachePath, http, type RunningNode, startNode } from './cluster-harness';

describe('dcache OpenAPI document', () => {
  let running: RunningNode;
  beforeAll(async () => {
    running = await startNode('node1', []);
  });
  afterAll(async () => {
    await running?.stop();
  });

  it('documents every registered route (public, admin, internal, /metrics) at /docs/json', async () => {
    const urls = registeredRoutes(running.app).map((route) => `${route.method} ${route.url}`);
    expect(urls).toEqual(
      expect.arrayContaining(['GET /api/v1/cache/*', 'PUT /api/v1/cache/*', 'GET /metrics']),
    );
    expect(await findUndocumentedRoutes(running.app)).toEqual([]);
  });

  it('serves the UI at /docs; the cache GET and its 404 miss are unchanged', async () => {
    const ui = await fetch(`${running.url}/docs/`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toContain('text/html');
    const miss = await http(running.url, 'GET', cachePath('absent'));
    expect(miss.status).toBe(404);
    expect(miss.body).toMatchObject({ key: 'absent', found: false });
    expect((await http(running.url, 'PUT', cachePath('k'), { value: { a: 1 } })).status).toBe(200);
    expect((await http(running.url, 'GET', cachePath('k'))).body).toMatchObject({ value: { a: 1 } });
  });
});
