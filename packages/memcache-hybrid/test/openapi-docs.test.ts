import { readFileSync } from 'node:fs';
import { findUndocumentedRoutes, readConfigFile, registeredRoutes } from '@kvforge/common-http';
import { SILENT_LOGGER } from '@kvforge/runtime';
import type { FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposedMetrics, referencedMetrics, rulesPath } from '../../../deploy/check/metric-references';
import { unlistedMetrics } from '../../../deploy/check/metrics-list';
import { rulesProblems } from '../../../deploy/check/rules-structure';
import { type MetaServiceServer, startMetaServiceServer } from '../src/index';

const logger = { ...SILENT_LOGGER, fatal: () => undefined, trace: () => undefined, level: 'silent' };
const quietLogger = { ...logger, child: () => quietLogger } as unknown as FastifyBaseLogger;

describe('memcache meta service OpenAPI document', () => {
  let server: MetaServiceServer;
  beforeAll(async () => {
    server = await startMetaServiceServer({
      rpcUrl: 'tcp://127.0.0.1:0',
      restUrl: 'http://127.0.0.1:0',
      logger: quietLogger,
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('documents every registered route at /docs/json and serves the UI at /docs', async () => {
    // The spec's 24 routes at least: an empty route list would make the check below vacuous.
    expect(registeredRoutes(server.app).length).toBeGreaterThanOrEqual(24);
    expect(await findUndocumentedRoutes(server.app)).toEqual([]);
    const document = (await server.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(document.info.title).toBe('memcache-hybrid meta service API');
    const ui = await fetch(`http://127.0.0.1:${server.rest.port}/docs/`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toContain('text/html');
  });

  it('leaves unknown routes a 404 (the docs add only /docs*)', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/no/such/path' });
    expect(response.statusCode).toBe(404);
  });

  it('deploy/: memcache-hybrid rules are well formed; dashboard and rules use only metrics the meta service exposes', async () => {
    const rules = readConfigFile(rulesPath('memcache-hybrid'));
    expect(rulesProblems(rules)).toEqual([]);
    const exposed = exposedMetrics((await server.app.inject({ method: 'GET', url: '/metrics' })).body);
    const referenced = referencedMetrics('memcache-hybrid', rules);
    expect(referenced.size).toBeGreaterThan(5);
    expect([...referenced].filter((name) => !exposed.has(name))).toEqual([]);
  });

  it('the README lists every metric family the meta service exposes (pnpm docs:metrics rewrites the list)', async () => {
    const exposition = (await server.app.inject({ method: 'GET', url: '/metrics' })).body;
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(unlistedMetrics(readme, 'memcache-meta-service', exposition)).toEqual([]);
  });
});
