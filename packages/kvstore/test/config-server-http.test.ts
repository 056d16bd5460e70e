import { createHttpServer } from '@kvforge/common-http';
import { makeTempDirectory, removeDirectory } from '@kvforge/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigServer } from '../src/config-server/config-server';
import { FileStateStore, MemoryStateStore } from '../src/config-server/state-store';
import { configServerPlugin } from '../src/http/config-server-plugin';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';

const A = '127.0.0.1:7001';
const B = '127.0.0.1:7002';
const C = '127.0.0.1:7003';

async function buildApp(configServer: ConfigServer): Promise<FastifyInstance> {
  const app = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
  await app.register(configServerPlugin, { configServer, maxWatchMs: 2000 });
  await app.ready();
  return app;
}

async function call(
  app: FastifyInstance,
  path: string,
  body?: unknown,
  options: { method?: 'GET' | 'POST'; contentType?: string; raw?: string } = {},
): Promise<Record<string, unknown>> {
  const response = await app.inject({
    method: options.method ?? 'POST',
    url: `/kvstore/cs/${path}`,
    ...(options.raw !== undefined || body !== undefined
      ? {
          payload: options.raw ?? JSON.stringify(body),
          headers: { 'content-type': options.contentType ?? 'application/x-www-form-urlencoded' },
        }
      : {}),
  });
  const json = response.json() as Record<string, unknown>;
  // Bad input (1002/1003) is HTTP 400, every other answer HTTP 200.
  expect(response.statusCode).toBe(json.code === 1002 || json.code === 1003 ? 400 : 200);
  return json;
}

describe('ConfigServer HTTP API', () => {
  let app: FastifyInstance;
  let now = 1_000_000;

  beforeEach(async () => {
    now = 1_000_000;
    app = await buildApp(await ConfigServer.open({ store: new MemoryStateStore(), now: () => now }));
  });
  afterEach(async () => {
    await app.close();
  });

  it('init_table, namespace_list, bucket_table, del_namespace', async () => {
    expect(
      await call(app, 'init_table', { namespace: 'ns1', bucket_count: 256, address_list: [A, B] }),
    ).toEqual({
      code: 1001,
      msg: 'OK',
    });
    expect(await call(app, 'namespace_list', undefined, { method: 'GET' })).toEqual({
      code: 1001,
      msg: 'OK',
      namespace_list: ['ns1'],
    });
    const table = await call(app, 'bucket_table', { namespace: 'ns1' });
    expect(table.code).toBe(1001);
    expect(table.version).toBe(1);
    expect(table.migrating_bucket_id).toBe(65535);
    expect(table.migrating_server_addr).toBe('');
    expect(table.cluster_type).toBe('data_store');
    const map = table.table as Record<string, number[]>;
    expect(Object.keys(map)).toEqual([A, B]);
    expect(map[A]!.length).toBe(128);
    expect(map[B]!.slice(0, 2)).toEqual([1, 3]);
    // GET with query parameters works too.
    const viaQuery = await app.inject({ method: 'GET', url: '/kvstore/cs/bucket_table?namespace=ns1' });
    expect(viaQuery.json().version).toBe(1);
    expect(await call(app, 'del_namespace', { namespace: 'ns1' })).toEqual({ code: 1001, msg: 'OK' });
    expect((await call(app, 'namespace_list')).namespace_list).toEqual([]);
  });

  it('answers 1002 for bad JSON and 1003 for missing or mistyped fields', async () => {
    expect(
      (await call(app, 'init_table', undefined, { raw: '{"namespace":', contentType: 'application/json' }))
        .code,
    ).toBe(1002);
    expect((await call(app, 'init_table', undefined, { raw: 'not json at all' })).code).toBe(1002);
    const missing = await call(app, 'init_table', { namespace: 'x', address_list: [A] });
    expect(missing.code).toBe(1003);
    expect(missing.msg).toContain('bucket_count');
    expect(
      (await call(app, 'init_table', { namespace: 'x', bucket_count: '256', address_list: [A] })).code,
    ).toBe(1003);
    expect((await call(app, 'init_table', { namespace: 'x', bucket_count: 256, address_list: A })).code).toBe(
      1003,
    );
    expect((await call(app, 'init_table', [1, 2])).code).toBe(1003);
    expect((await call(app, 'bucket_table', {})).code).toBe(1003);
    expect((await call(app, 'replace_server', { namespace: 'x' })).code).toBe(1003);
  });

  it('init_table: 1005 invalid address, 1006 bad bucket count, duplicate namespace, shared address', async () => {
    expect(
      (await call(app, 'init_table', { namespace: 'x', bucket_count: 256, address_list: ['nope'] })).code,
    ).toBe(1005);
    expect(
      (await call(app, 'init_table', { namespace: 'x', bucket_count: 256, address_list: [7] })).code,
    ).toBe(1005);
    const small = await call(app, 'init_table', { namespace: 'x', bucket_count: 100, address_list: [A] });
    expect(small.code).toBe(1006);
    expect(small.msg).toContain('[256, 2048]');
    await call(app, 'init_table', { namespace: 'x', bucket_count: 256, address_list: [A] });
    expect(
      (await call(app, 'init_table', { namespace: 'x', bucket_count: 256, address_list: [B] })).code,
    ).toBe(1006);
    const shared = await call(app, 'init_table', { namespace: 'y', bucket_count: 256, address_list: [A] });
    expect(shared.code).toBe(1006);
    expect(shared.msg).toContain('already belongs to namespace x');
  });

  it('namespace errors: bucket_table/proxy_info 1004, del_namespace 1005', async () => {
    expect((await call(app, 'bucket_table', { namespace: 'none' })).code).toBe(1004);
    expect((await call(app, 'proxy_info', { namespace: 'none' })).code).toBe(1004);
    expect((await call(app, 'del_namespace', { namespace: 'none' })).code).toBe(1005);
  });

  it('replace_server swaps the address and bumps the version; errors 1006/1007', async () => {
    await call(app, 'init_table', { namespace: 'ns', bucket_count: 256, address_list: [A, B] });
    expect(await call(app, 'replace_server', { namespace: 'ns', old_addr: A, new_addr: C })).toEqual({
      code: 1001,
      msg: 'OK',
    });
    const table = await call(app, 'bucket_table', { namespace: 'ns' });
    expect(table.version).toBe(2);
    expect(Object.keys(table.table as object)).toEqual([B, C]);
    expect((await call(app, 'replace_server', { namespace: 'ns', old_addr: 'bad', new_addr: C })).code).toBe(
      1006,
    );
    expect((await call(app, 'replace_server', { namespace: 'ns', old_addr: A, new_addr: C })).code).toBe(
      1007,
    );
    expect((await call(app, 'replace_server', { namespace: 'no', old_addr: A, new_addr: C })).code).toBe(
      1007,
    );
  });

  it('scale_cache_cluster: cache only (1005), add/del, bad action 1007, bad addr 1006, failure 1008', async () => {
    await call(app, 'init_table', { namespace: 'ds', bucket_count: 256, address_list: [A] });
    expect((await call(app, 'scale_cache_cluster', { namespace: 'ds', action: 'add', addr: C })).code).toBe(
      1005,
    );
    await call(app, 'init_table', {
      namespace: 'cache',
      bucket_count: 300,
      address_list: [B],
      cluster_type: 'cache',
    });
    expect(await call(app, 'scale_cache_cluster', { namespace: 'cache', action: 'add', addr: C })).toEqual({
      code: 1001,
      msg: 'OK',
    });
    let table = await call(app, 'bucket_table', { namespace: 'cache' });
    expect(table.version).toBe(2);
    expect((table.table as Record<string, number[]>)[C]!.length).toBe(150);
    expect(
      (await call(app, 'scale_cache_cluster', { namespace: 'cache', action: 'grow', addr: C })).code,
    ).toBe(1007);
    expect(
      (await call(app, 'scale_cache_cluster', { namespace: 'cache', action: 'add', addr: 'x' })).code,
    ).toBe(1006);
    expect(
      (await call(app, 'scale_cache_cluster', { namespace: 'cache', action: 'add', addr: C })).code,
    ).toBe(1008);
    expect(
      (await call(app, 'scale_cache_cluster', { namespace: 'cache', action: 'add', addr: A })).code,
    ).toBe(1008);
    expect(await call(app, 'scale_cache_cluster', { namespace: 'cache', action: 'del', addr: C })).toEqual({
      code: 1001,
      msg: 'OK',
    });
    table = await call(app, 'bucket_table', { namespace: 'cache' });
    expect(table.version).toBe(3);
    expect(Object.keys(table.table as object)).toEqual([B]);
    expect(
      (await call(app, 'scale_cache_cluster', { namespace: 'cache', action: 'del', addr: B })).code,
    ).toBe(1008);
    expect((await call(app, 'bucket_table', { namespace: 'cache' })).cluster_type).toBe('cache');
  });

  it('set_config / get_config', async () => {
    expect(await call(app, 'set_config', { support_ha: true })).toEqual({ code: 1001, msg: 'OK' });
    const config = await call(app, 'get_config');
    expect(config).toMatchObject({
      code: 1001,
      support_ha: true,
      is_master: true,
      cluster_type: 'data_store',
    });
    expect(config.data).toEqual({ support_ha: true, is_master: true, cluster_type: 'data_store' });
    expect((await call(app, 'set_config', { support_ha: 'yes' })).code).toBe(1003);
    expect((await call(app, 'set_config', { max_qps: 1 })).code).toBe(1003);
    expect((await call(app, 'set_config', {})).code).toBe(1003);
    // Promotion exists only for file-store pairs (ConfigServerService); demotion is never a call.
    expect((await call(app, 'set_config', { is_master: true })).code).toBe(1003);
    expect((await call(app, 'set_config', { is_master: false })).code).toBe(1003);
    expect(
      (await call(app, 'set_config', undefined, { raw: '{', contentType: 'application/json' })).code,
    ).toBe(1002);
  });

  it('watch_table registers proxies, returns a changed table at once and holds an unchanged one', async () => {
    await call(app, 'init_table', { namespace: 'ns', bucket_count: 256, address_list: [A, B] });
    const first = await call(app, 'watch_table', { namespace: 'ns', version: 0, proxy: '10.1.1.1:6380' });
    expect(first).toMatchObject({ code: 1001, changed: true, version: 1, cluster_type: 'data_store' });
    const held = call(app, 'watch_table', {
      namespace: 'ns',
      version: 1,
      proxy: '10.1.1.1:6380',
      wait_ms: 2000,
    });
    await call(app, 'replace_server', { namespace: 'ns', old_addr: B, new_addr: C });
    const pushed = await held;
    expect(pushed).toMatchObject({ changed: true, version: 2 });
    expect(Object.keys(pushed.table as object)).toContain(C);
    const timedOut = await call(app, 'watch_table', { namespace: 'ns', version: 2, wait_ms: 10 });
    expect(timedOut).toMatchObject({ code: 1001, changed: false, version: 2 });
    expect(await call(app, 'proxy_info', { namespace: 'ns' })).toEqual({
      code: 1001,
      msg: 'OK',
      proxy_info: [{ info: '10.1.1.1:6380', state: 'ONLINE' }],
    });
    now += 60_000;
    expect((await call(app, 'proxy_info', { namespace: 'ns' })).proxy_info).toEqual([
      { info: '10.1.1.1:6380', state: 'OFFLINE' },
    ]);
    const deleted = call(app, 'watch_table', { namespace: 'ns', version: 2, wait_ms: 2000 });
    await call(app, 'del_namespace', { namespace: 'ns' });
    expect((await deleted).code).toBe(1004);
  });

  it('unknown routes get 404 with a code', async () => {
    const response = await app.inject({ method: 'GET', url: '/kvstore/cs/nope' });
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe(1003);
  });
});

describe('ConfigServer as a slave', () => {
  it('refuses writes with 1004 and still serves reads', async () => {
    const app = await buildApp(await ConfigServer.open({ store: new MemoryStateStore(), isMaster: false }));
    try {
      expect(
        (await call(app, 'init_table', { namespace: 'x', bucket_count: 256, address_list: [A] })).code,
      ).toBe(1004);
      expect((await call(app, 'set_config', { support_ha: true })).code).toBe(1004);
      expect((await call(app, 'get_config')).is_master).toBe(false);
      expect((await call(app, 'namespace_list')).code).toBe(1001);
    } finally {
      await app.close();
    }
  });
});

describe('FileStateStore', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await makeTempDirectory('kvstore-cs-');
  });
  afterEach(async () => {
    await removeDirectory(directory);
  });

  it('keeps tables and support_ha across a restart', async () => {
    let app = await buildApp(await ConfigServer.open({ store: new FileStateStore(directory) }));
    await call(app, 'init_table', {
      namespace: 'ns',
      bucket_count: 512,
      address_list: [A, B],
      cluster_type: 'cache',
    });
    await call(app, 'scale_cache_cluster', { namespace: 'ns', action: 'add', addr: C });
    await call(app, 'set_config', { support_ha: true });
    const before = await call(app, 'bucket_table', { namespace: 'ns' });
    await app.close();

    app = await buildApp(await ConfigServer.open({ store: new FileStateStore(directory) }));
    const after = await call(app, 'bucket_table', { namespace: 'ns' });
    expect(after).toEqual(before);
    expect(after.version).toBe(2);
    expect((await call(app, 'get_config', { namespace: 'ns' })).cluster_type).toBe('cache');
    expect((await call(app, 'get_config')).support_ha).toBe(true);
    await app.close();
  });

  it('ignores a leftover temp file from a crash mid-write and refuses a corrupt state file', async () => {
    const { writeFile } = await import('node:fs/promises');
    const store = new FileStateStore(directory);
    const server = await ConfigServer.open({ store });
    await server.initTable('ns', 256, [A]);
    await writeFile(`${store.path}.999.1.tmp`, '{"formatVersion":1,"supp');
    const reopened = await ConfigServer.open({ store: new FileStateStore(directory) });
    expect(reopened.getTable('ns').version).toBe(1);
    await writeFile(store.path, '{"formatVersion":1,"supp');
    await expect(ConfigServer.open({ store: new FileStateStore(directory) })).rejects.toThrow(/not JSON/);
  });
});

describe('HA votes (report_redis_state)', () => {
  it('fails over only when every online proxy reports the master down and support_ha is on', async () => {
    let now = 1_000_000;
    const server = await ConfigServer.open({ store: new MemoryStateStore(), now: () => now });
    const app = await buildApp(server);
    try {
      await call(app, 'init_table', { namespace: 'ds', bucket_count: 256, address_list: [A, B] });
      await call(app, 'init_table', {
        namespace: 'cache',
        bucket_count: 256,
        address_list: [C, '127.0.0.1:7004'],
        cluster_type: 'cache',
      });
      for (const namespace of ['ds', 'cache']) {
        server.touchProxy(namespace, 'p1:1');
        server.touchProxy(namespace, 'p2:1');
      }
      const report = (body: object) => call(app, 'report_redis_state', body);
      // support_ha off: votes are recorded, nothing changes.
      expect(
        (
          await report({
            namespace: 'ds',
            proxy: 'p1:1',
            addr: A,
            state: 'down',
            slave_addr: '127.0.0.1:7101',
          })
        ).action,
      ).toBe('none');
      expect(
        (
          await report({
            namespace: 'ds',
            proxy: 'p2:1',
            addr: A,
            state: 'down',
            slave_addr: '127.0.0.1:7101',
          })
        ).action,
      ).toBe('none');
      expect(server.getTable('ds').version).toBe(1);
      await call(app, 'set_config', { support_ha: true });
      // One proxy alone (a partition) is not enough.
      expect(
        (
          await report({
            namespace: 'ds',
            proxy: 'p1:1',
            addr: B,
            state: 'down',
            slave_addr: '127.0.0.1:7102',
          })
        ).action,
      ).toBe('none');
      expect(server.getTable('ds').version).toBe(1);
      // A proxy that recovers withdraws its vote.
      await report({ namespace: 'ds', proxy: 'p1:1', addr: B, state: 'up' });
      expect(
        (
          await report({
            namespace: 'ds',
            proxy: 'p2:1',
            addr: B,
            state: 'down',
            slave_addr: '127.0.0.1:7102',
          })
        ).action,
      ).toBe('none');
      // Both proxies agree on A: the replica replaces it.
      expect(
        (
          await report({
            namespace: 'ds',
            proxy: 'p2:1',
            addr: A,
            state: 'down',
            slave_addr: '127.0.0.1:7101',
          })
        ).action,
      ).toBe('replaced');
      expect(server.getTable('ds').owners).toContain('127.0.0.1:7101');
      expect(server.getTable('ds').owners).not.toContain(A);
      // Cache mode: an OFFLINE proxy does not count; the dead master is removed.
      now += 10_000;
      server.touchProxy('cache', 'p1:1');
      now += 25_000;
      server.touchProxy('cache', 'p1:1');
      expect((await report({ namespace: 'cache', proxy: 'p1:1', addr: C, state: 'down' })).action).toBe(
        'removed',
      );
      expect(server.getTable('cache').owners).not.toContain(C);
      expect((await report({ namespace: 'cache', proxy: 'p1:1', addr: C, state: 'sideways' })).code).toBe(
        1007,
      );
    } finally {
      await app.close();
    }
  });
});
