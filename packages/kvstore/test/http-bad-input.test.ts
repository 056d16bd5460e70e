import { createHttpServer } from '@kvforge/common-http';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BucketMigrator } from '../src/config-server/bucket-migrator';
import { ConfigServer } from '../src/config-server/config-server';
import { MemoryStateStore } from '../src/config-server/state-store';
import { configServerPlugin } from '../src/http/config-server-plugin';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';
import { proxyPlugin } from '../src/http/proxy-plugin';
import { KvStoreProxy } from '../src/proxy/kv-store-proxy';

// Every route with a body of the wrong shape for it (each field mistyped).
const CONFIG_SERVER_ROUTES: Record<string, object> = {
  init_table: { namespace: 'x', bucket_count: 'many', address_list: '127.0.0.1:7001' },
  del_namespace: { namespace: 7 },
  namespace_list: [],
  bucket_table: { namespace: ['x'] },
  proxy_info: { namespace: null },
  replace_server: { namespace: 'x', old_addr: 1, new_addr: 2 },
  scale_cache_cluster: { namespace: 'x', action: true, addr: {} },
  set_config: { support_ha: 'yes' },
  get_config: { namespace: 1 },
  watch_table: { namespace: 'x', version: 'latest' },
  report_redis_state: { namespace: 'x', proxy: 'p:1', addr: 5, state: 'down' },
  migrate_bucket: { namespace: 'x', addr: '127.0.0.1:7001', bucket_ids: ['a'] },
  scale_data_store: { namespace: 'x', action: 'add' },
  migration_status: {},
};
const PROXY_ROUTES: Record<string, object> = {
  stats_info: [],
  reset_stats: [1],
  set_config: { max_qps: -1 },
  bucket_table: [],
  add_pattern: { patten: '' },
  del_pattern: { pattern: 3 },
};

async function send(
  app: FastifyInstance,
  url: string,
  payload: string | undefined,
  contentType = 'application/json',
  method: 'GET' | 'POST' = 'POST',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await app.inject({
    method,
    url,
    ...(payload === undefined ? {} : { payload, headers: { 'content-type': contentType } }),
  });
  return { status: response.statusCode, body: response.json() };
}

function expectEnvelope(result: { status: number; body: Record<string, unknown> }, code: number): void {
  expect(result.status).toBe(400);
  expect(Object.keys(result.body).sort()).toEqual(['code', 'msg']);
  expect(result.body.code).toBe(code);
  expect(typeof result.body.msg).toBe('string');
}

describe('malformed input to every kvstore route: {code,msg} with HTTP 400, never 500', () => {
  let csApp: FastifyInstance;
  let proxyApp: FastifyInstance;
  let proxy: KvStoreProxy;
  beforeAll(async () => {
    const server = await ConfigServer.open({ store: new MemoryStateStore() });
    csApp = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
    await csApp.register(configServerPlugin, {
      configServer: server,
      migrator: new BucketMigrator(server),
      maxWatchMs: 100,
    });
    await csApp.ready();
    proxy = new KvStoreProxy({ namespace: 'x', port: 0 });
    proxyApp = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
    await proxyApp.register(proxyPlugin, { proxy });
    await proxyApp.ready();
  });
  afterAll(async () => {
    await csApp?.close();
    await proxyApp?.close();
    await proxy?.close();
  });

  const suites = [
    { name: 'ConfigServer', prefix: '/kvstore/cs/', routes: CONFIG_SERVER_ROUTES, app: () => csApp },
    { name: 'proxy', prefix: '/kvstore/proxy/', routes: PROXY_ROUTES, app: () => proxyApp },
  ];
  for (const suite of suites) {
    for (const [route, wrongBody] of Object.entries(suite.routes)) {
      it(`${suite.name} ${route}`, async () => {
        const url = `${suite.prefix}${route}`;
        const app = suite.app();
        // Truncated JSON declared as JSON, and text that is no JSON at all: 1002.
        expectEnvelope(await send(app, url, '{"namespace":'), 1002);
        expectEnvelope(await send(app, url, 'namespace=x', 'application/x-www-form-urlencoded'), 1002);
        // JSON of the wrong shape: 1003.
        expectEnvelope(await send(app, url, '42'), 1003);
        expectEnvelope(await send(app, url, JSON.stringify(wrongBody)), 1003);
      });
    }
  }

  it('GET query parameters are validated by the same schemas', async () => {
    expectEnvelope(await send(csApp, '/kvstore/cs/bucket_table?namespace=12', undefined, '', 'GET'), 1003);
    expectEnvelope(
      await send(csApp, '/kvstore/cs/watch_table?namespace=x&version=v2', undefined, '', 'GET'),
      1003,
    );
    expectEnvelope(await send(csApp, '/kvstore/cs/set_config?support_ha=maybe', undefined, '', 'GET'), 1003);
    expectEnvelope(
      await send(proxyApp, '/kvstore/proxy/set_config?max_qps=fast', undefined, '', 'GET'),
      1003,
    );
    expectEnvelope(await send(proxyApp, '/kvstore/proxy/add_pattern', undefined, '', 'GET'), 1003);
  });

  it('a rejected set_config changes nothing', async () => {
    const before = { ...proxy.config };
    expectEnvelope(await send(proxyApp, '/kvstore/proxy/set_config', '{"max_qps":5,"nope":1}'), 1003);
    expectEnvelope(await send(proxyApp, '/kvstore/proxy/set_config', '{}'), 1003);
    expect(proxy.config).toEqual(before);
  });
});
