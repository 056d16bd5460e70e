import { readFileSync } from 'node:fs';
import {
  createLogger,
  findUndocumentedRoutes,
  loadConfig,
  readConfigFile,
  registeredRoutes,
} from '@kvforge/common-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposedMetrics, referencedMetrics, rulesPath } from '../../../deploy/check/metric-references';
import { unlistedMetrics } from '../../../deploy/check/metrics-list';
import { rulesProblems } from '../../../deploy/check/rules-structure';
import { gunyuConfigSchema } from '../src/config/config-schema';
import { createGunyuService, type GunyuService } from '../src/gunyu-service';

// The service as the app builds it; nothing listens or syncs, so no Redis is needed.
let gunyu: GunyuService;

beforeAll(async () => {
  const config = loadConfig(gunyuConfigSchema, [
    { input: { redis: { addresses: ['127.0.0.1:1'] } }, output: { redis: { addresses: ['127.0.0.1:2'] } } },
  ]);
  gunyu = await createGunyuService(config, {
    logger: createLogger({ name: 'gunyu-sync-docs-test', level: 'silent', pretty: false }),
    exitProcess: false,
  });
});

afterAll(async () => {
  await gunyu?.app.close();
});

describe('gunyu-sync OpenAPI document', () => {
  it('documents every registered route (ops API and metrics) at /docs/json', async () => {
    const urls = registeredRoutes(gunyu.app).map((route) => `${route.method} ${route.url}`);
    expect(urls).toEqual(expect.arrayContaining(['GET /syncer/status', 'DELETE /', 'GET /prometheus']));
    expect(await findUndocumentedRoutes(gunyu.app)).toEqual([]);
    const document = (await gunyu.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(document.info.title).toBe('gunyu-sync ops API');
  });

  it('serves the UI at /docs and leaves unknown routes a bare 404', async () => {
    const ui = await gunyu.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
    const unknown = await gunyu.app.inject({ method: 'GET', url: '/syncer/nope' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toBe('');
  });

  it('deploy/: gunyu-sync rules are well formed; dashboard and rules use only metrics the service exposes', async () => {
    const rules = readConfigFile(rulesPath('gunyu-sync'));
    expect(rulesProblems(rules)).toEqual([]);
    const exposed = exposedMetrics((await gunyu.app.inject({ method: 'GET', url: '/prometheus' })).body);
    const referenced = referencedMetrics('gunyu-sync', rules);
    expect(referenced.size).toBeGreaterThan(5);
    expect([...referenced].filter((name) => !exposed.has(name))).toEqual([]);
  });

  it('the README lists every metric family the service exposes (pnpm docs:metrics rewrites the list)', async () => {
    const exposition = (await gunyu.app.inject({ method: 'GET', url: '/prometheus' })).body;
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(unlistedMetrics(readme, 'gunyu-sync', exposition)).toEqual([]);
  });
});
