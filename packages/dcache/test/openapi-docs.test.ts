import { readFileSync } from 'node:fs';
import { findUndocumentedRoutes, readConfigFile, registeredRoutes } from '@kvforge/common-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposedMetrics, referencedMetrics, rulesPath } from '../../../deploy/check/metric-references';
import { unlistedMetrics } from '../../../deploy/check/metrics-list';
import { rulesProblems } from '../../../deploy/check/rules-structure';
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
    const document = (await running.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(document.info.title).toBe('dcache node API');
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

  it('deploy/: dcache rules are well formed; dashboard and rules use only metrics a node exposes', async () => {
    const rules = readConfigFile(rulesPath('dcache'));
    expect(rulesProblems(rules)).toEqual([]);
    const exposed = exposedMetrics((await running.app.inject({ method: 'GET', url: '/metrics' })).body);
    const referenced = referencedMetrics('dcache', rules);
    expect(referenced.size).toBeGreaterThan(5);
    expect([...referenced].filter((name) => !exposed.has(name))).toEqual([]);
  });

  it('the README lists every metric family a node exposes (pnpm docs:metrics rewrites the list)', async () => {
    const exposition = (await running.app.inject({ method: 'GET', url: '/metrics' })).body;
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(unlistedMetrics(readme, 'dcache', exposition)).toEqual([]);
  });
});
