import { readFileSync } from 'node:fs';
import {
  createHttpServer,
  findUndocumentedRoutes,
  readConfigFile,
  registeredRoutes,
} from '@kvforge/common-http';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposedMetrics, referencedMetrics, rulesPath } from '../../../deploy/check/metric-references';
import { unlistedMetrics } from '../../../deploy/check/metrics-list';
import { rulesProblems } from '../../../deploy/check/rules-structure';
import { BucketMigrator } from '../src/config-server/bucket-migrator';
import { ConfigServer } from '../src/config-server/config-server';
import { MemoryStateStore } from '../src/config-server/state-store';
import { CONFIG_SERVER_API_DOCS, PROXY_API_DOCS } from '../src/http/api-docs';
import { configServerPlugin } from '../src/http/config-server-plugin';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';
import { proxyPlugin } from '../src/http/proxy-plugin';
import { KvStoreProxy } from '../src/proxy/kv-store-proxy';

// Both servers built as the apps build them: createHttpServer with the kvstore envelope + the plugin.
describe('kvstore OpenAPI documents (ConfigServer and proxy)', () => {
  let csApp: FastifyInstance;
  let proxyApp: FastifyInstance;
  let proxy: KvStoreProxy;
  beforeAll(async () => {
    const server = await ConfigServer.open({ store: new MemoryStateStore() });
    csApp = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE, apiDocs: CONFIG_SERVER_API_DOCS });
    await csApp.register(configServerPlugin, {
      configServer: server,
      migrator: new BucketMigrator(server),
      maxWatchMs: 100,
    });
    proxy = new KvStoreProxy({ namespace: 'x', port: 0 });
    proxyApp = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE, apiDocs: PROXY_API_DOCS });
    await proxyApp.register(proxyPlugin, { proxy });
  });
  afterAll(async () => {
    await csApp?.close();
    await proxyApp?.close();
    await proxy?.close();
  });

  it('ConfigServer: every registered route is in /docs/json', async () => {
    const urls = registeredRoutes(csApp).map((route) => `${route.method} ${route.url}`);
    expect(urls).toEqual(
      expect.arrayContaining(['POST /kvstore/cs/init_table', 'POST /kvstore/cs/watch_table']),
    );
    expect(await findUndocumentedRoutes(csApp)).toEqual([]);
    const document = (await csApp.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(document.info.title).toBe('kvstore ConfigServer API');
  });

  it('proxy: every registered route is in /docs/json', async () => {
    const urls = registeredRoutes(proxyApp).map((route) => `${route.method} ${route.url}`);
    expect(urls).toEqual(expect.arrayContaining(['POST /kvstore/proxy/stats_info']));
    expect(await findUndocumentedRoutes(proxyApp)).toEqual([]);
    const document = (await proxyApp.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(document.info.title).toBe('kvstore proxy API');
  });

  it('serves the UI at /docs and keeps the {code,msg} 404 on unknown routes', async () => {
    for (const app of [csApp, proxyApp]) {
      const ui = await app.inject({ method: 'GET', url: '/docs/' });
      expect(ui.statusCode).toBe(200);
      expect(ui.headers['content-type']).toContain('text/html');
      const unknown = await app.inject({ method: 'POST', url: '/kvstore/cs/nope' });
      expect(unknown.statusCode).toBe(404);
      expect(Object.keys(unknown.json()).sort()).toEqual(['code', 'msg']);
    }
  });

  it('deploy/: kvstore rules are well formed; dashboard and rules use only metrics the ConfigServer or the proxy exposes', async () => {
    const rules = readConfigFile(rulesPath('kvstore'));
    expect(rulesProblems(rules)).toEqual([]);
    const exposed = new Set([
      ...exposedMetrics((await csApp.inject({ method: 'GET', url: '/metrics' })).body),
      ...exposedMetrics((await proxyApp.inject({ method: 'GET', url: '/metrics' })).body),
    ]);
    const referenced = referencedMetrics('kvstore', rules);
    expect(referenced.size).toBeGreaterThan(5);
    expect([...referenced].filter((name) => !exposed.has(name))).toEqual([]);
  });

  it('the README lists every metric family the ConfigServer and the proxy expose (pnpm docs:metrics rewrites the lists)', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const csMetrics = (await csApp.inject({ method: 'GET', url: '/metrics' })).body;
    const proxyMetrics = (await proxyApp.inject({ method: 'GET', url: '/metrics' })).body;
    expect(unlistedMetrics(readme, 'kvstore-config-server', csMetrics)).toEqual([]);
    expect(unlistedMetrics(readme, 'kvstore-proxy', proxyMetrics)).toEqual([]);
  });
});
