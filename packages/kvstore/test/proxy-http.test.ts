import { connect } from 'node:net';
import { createHttpServer } from '@kvforge/common-http';
import { waitFor } from '@kvforge/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { murmurHash2 } from '../src/core/murmur-hash2';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';
import { proxyPlugin } from '../src/http/proxy-plugin';
import { type KvstoreCluster, startKvstoreCluster } from './kvstore-fixture';

describe('KvStoreProxy HTTP API', () => {
  let cluster: KvstoreCluster;
  let app: FastifyInstance;
  const changes: object[] = [];

  beforeAll(async () => {
    cluster = await startKvstoreCluster({ backends: 2 });
    app = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
    await app.register(proxyPlugin, {
      proxy: cluster.proxy,
      onConfigChange: (update) => changes.push(update),
    });
    await app.ready();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await cluster?.stop();
  });

  const call = async (path: string, body?: unknown) => {
    const response = await app.inject({
      method: body === undefined ? 'GET' : 'POST',
      url: `/kvstore/proxy/${path}`,
      ...(body === undefined
        ? {}
        : { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const json = response.json() as Record<string, unknown>;
    // Bad input (1002/1003) is HTTP 400, every other answer HTTP 200.
    expect(response.statusCode).toBe(json.code === 1002 || json.code === 1003 ? 400 : 200);
    return json;
  };

  it('stats_info counts commands per name; reset_stats clears them', async () => {
    const client = cluster.client();
    await client.set('a', '1');
    await client.get('a');
    await client.get('a');
    const stats = await call('stats_info');
    expect(stats).toMatchObject({ code: 1001, msg: 'OK', client_count: 1 });
    expect((stats.cmds as Record<string, number>).get).toBe(2);
    expect((stats.cmds as Record<string, number>).set).toBe(1);
    expect(stats.total_cmd_count).toBeGreaterThanOrEqual(3);
    expect(typeof stats.average_rt).toBe('number');
    expect(typeof stats.qps).toBe('number');
    expect(typeof stats.slow_cmd_count).toBe('number');
    expect(await call('reset_stats')).toEqual({ code: 1001, msg: 'OK' });
    expect((await call('stats_info')).total_cmd_count).toBe(0);
  });

  it('bucket_table mirrors the ConfigServer table', async () => {
    const table = await call('bucket_table');
    const fromConfigServer = await cluster.cs('bucket_table', { namespace: 'test' });
    expect(table.version).toBe(fromConfigServer.version);
    expect(table.table).toEqual(fromConfigServer.table);
    expect(table.migrating_bucket_id).toBe(65535);
  });

  it('set_config applies at once; unknown names 1003; bad values 1003', async () => {
    const client = cluster.client();
    await client.ping();
    expect(await call('set_config', { max_qps: 3, slow_cmd_time: 0 })).toEqual({ code: 1001, msg: 'OK' });
    expect(changes).toContainEqual({ max_qps: 3, slow_cmd_time: 0 });
    const replies = await Promise.allSettled(Array.from({ length: 10 }, () => client.get('a')));
    expect(
      replies.some((reply) => reply.status === 'rejected' && /reach qps limit/.test(String(reply.reason))),
    ).toBe(true);
    expect(await call('set_config', { max_qps: 200000 })).toEqual({ code: 1001, msg: 'OK' });
    expect((await call('set_config', { nope: 1 })).code).toBe(1003);
    expect((await call('set_config', { max_qps: 'x' })).code).toBe(1003);
    expect((await call('set_config', { max_qps: -1 })).code).toBe(1003);
    expect((await call('stats_info')).slow_cmd_count).toBeGreaterThan(0);
  });

  it('max_client_num refuses extra connections with the original error', async () => {
    // Every connection beyond the current ones is refused, then closed.
    expect((await call('set_config', { max_client_num: Math.max(cluster.proxy.clientCount, 1) })).code).toBe(
      1001,
    );
    try {
      const reply = await new Promise<string>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: cluster.proxyPort });
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString();
        });
        socket.on('close', () => resolve(text));
        socket.on('error', () => resolve(text));
      });
      expect(reply).toBe('-ERR reach max number of clients\r\n');
    } finally {
      await call('set_config', { max_client_num: 10000 });
    }
  });

  it('request_timeout answers -ERR request timeout when a backend hangs, then the backend is used again', async () => {
    const client = cluster.client();
    const table = cluster.proxy.currentTable!;
    const server = cluster.redis[0]!;
    const key = Array.from({ length: 200 }, (_, index) => `slow:${index}`).find(
      (candidate) => table.owners[murmurHash2(Buffer.from(candidate)) % 256] === server.address,
    )!;
    expect((await call('set_config', { request_timeout: 1 })).code).toBe(1001);
    const blocker = server.client();
    try {
      // CLIENT PAUSE holds every client's commands, the proxy's connection included.
      expect(await blocker.call('CLIENT', 'PAUSE', '2500', 'ALL')).toBe('OK');
      await expect(client.get(key)).rejects.toThrow('ERR request timeout');
      await waitFor(async () => (await client.set(key, 'ok').catch(() => null)) === 'OK', {
        message: 'backend back',
      });
      expect(await client.get(key)).toBe('ok');
    } finally {
      blocker.disconnect();
      await call('set_config', { request_timeout: 10 });
    }
  });

  it('client_timeout closes idle clients', async () => {
    expect((await call('set_config', { client_timeout: 1 })).code).toBe(1001);
    try {
      // Waits for the proxy to close the idle socket; the test timeout is the only bound (no race with a timer).
      const closedBy = await new Promise<string>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: cluster.proxyPort });
        socket.on('close', () => resolve('close'));
        socket.on('error', (error) => resolve(error.message));
      });
      expect(closedBy).toBe('close');
    } finally {
      await call('set_config', { client_timeout: 600 });
    }
  });

  it('add_pattern / del_pattern hide and restore keys (accepting patten and pattern)', async () => {
    const client = cluster.client();
    await client.set('ABC:1', 'old');
    expect(await call('add_pattern', { patten: 'ABC*' })).toEqual({ code: 1001, msg: 'OK' });
    expect(await client.get('ABC:1')).toBeNull();
    await client.set('ABC:1', 'new');
    expect(await client.get('ABC:1')).toBe('new');
    expect(await call('del_pattern', { pattern: 'ABC*' })).toEqual({ code: 1001, msg: 'OK' });
    expect(await client.get('ABC:1')).toBe('old');
    expect((await call('del_pattern', { pattern: 'ABC*' })).code).toBe(1003);
    expect((await call('add_pattern', {})).code).toBe(1003);
  });

  it('serves Prometheus metrics and health', async () => {
    const client = cluster.client();
    await client.get('a');
    await client.call('KEYS', '*').catch(() => undefined);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/kvstore_proxy_commands_total\{command="GET"\} \d+/);
    expect(metrics.body).toMatch(/kvstore_proxy_command_errors_total\{command="KEYS"\} 1/);
    expect(metrics.body).toContain('kvstore_proxy_command_duration_seconds_bucket{command="GET",le="+Inf"}');
    expect(metrics.body).toMatch(/kvstore_proxy_bucket_table_version \d+/);
    expect(metrics.body).toMatch(/kvstore_proxy_clients \d+/);
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.json()).toMatchObject({ status: 'ok' });
  });
});
