import { connect } from 'node:net';
import { createHttpServer } from '@kvforge/common-http';
import { type Logger, type LogMethod, parseHostPort } from '@kvforge/runtime';
import {
  getFreePort,
  makeTempDirectory,
  type RedisProcess,
  removeDirectory,
  startRedis,
  waitFor,
} from '@kvforge/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';
import { proxyPlugin } from '../src/http/proxy-plugin';
import { KvStoreProxyService } from '../src/proxy/kv-store-proxy-service';
import { type ConfigServerApp, startConfigServerApp } from './config-server-fixture';

/** A logger that keeps every message, so a test can wait for the service to have done a step. */
function recordingLogger(): Logger & { messages: string[] } {
  const messages: string[] = [];
  const record: LogMethod = (first: object | string, message?: string) => {
    messages.push(typeof first === 'string' ? first : (message ?? ''));
  };
  const logger = { debug: record, info: record, warn: record, error: record, messages, child: () => logger };
  return logger;
}

describe('KvStoreProxyService HA paths with real processes', () => {
  let backend: RedisProcess;
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    backend = await startRedis();
  }, 60_000);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await backend?.stop();
  });

  async function configServer(options: { port?: number; isMaster?: boolean; dataDir?: string } = {}) {
    const dataDir = options.dataDir ?? makeTempDirectory('kvstore-service-');
    const started: ConfigServerApp = await startConfigServerApp(dataDir, options);
    cleanups.push(async () => {
      await started.close();
      if (!options.dataDir) removeDirectory(dataDir);
    });
    return { ...started, dataDir };
  }

  function proxyClient(service: KvStoreProxyService): Redis {
    const client = new Redis({ host: '127.0.0.1', port: service.address.port, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    cleanups.push(() => client.disconnect());
    return client;
  }

  it('bootstrap retries until a late ConfigServer answers, then serves', async () => {
    const port = await getFreePort();
    const logger = recordingLogger();
    const service = new KvStoreProxyService({
      namespace: 'late',
      port: 0,
      configServer: `127.0.0.1:${port}`,
      logger,
      bootstrapTimeoutMs: 30_000,
      bootstrapRetryMs: 50,
      watchMs: 500,
      retryMs: 50,
    });
    cleanups.push(() => service.stop());
    const started = service.start();
    // At least two failed attempts before the ConfigServer exists.
    await waitFor(
      () => logger.messages.filter((message) => message === 'waiting for the bucket table').length >= 2,
      {
        message: 'two failed bootstrap attempts',
      },
    );
    const cs = await configServer({ port });
    await cs.server.initTable('late', 256, [backend.address]);
    await started;
    expect(service.proxy.tableVersion).toBe(1);
    const client = proxyClient(service);
    expect(await client.set('late-key', 'v')).toBe('OK');
    expect(await client.get('late-key')).toBe('v');
    await waitFor(
      () => cs.server.proxyInfo('late').some((proxy) => proxy.info === service.advertisedAddress),
      {
        message: 'proxy registered by its long-poll',
      },
    );
  }, 60_000);

  it('gives up when no ConfigServer has the table and closes its RESP port', async () => {
    const cs = await configServer();
    const service = new KvStoreProxyService({
      namespace: 'missing',
      port: 0,
      configServer: cs.address,
      bootstrapTimeoutMs: 200,
      bootstrapRetryMs: 20,
    });
    await expect(service.start()).rejects.toThrow(/cannot get the bucket table of missing/);
    const port = service.address.port;
    // The listener is gone: a connect is refused.
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('polls the slave ConfigServer when the master dies, and keeps serving', async () => {
    const master = await configServer();
    await master.server.initTable('ha-cs', 256, [backend.address]);
    // The slave reads the master's state (as a replicated store would) and refuses writes.
    const slave = await configServer({ isMaster: false, dataDir: master.dataDir });
    const service = new KvStoreProxyService({
      namespace: 'ha-cs',
      port: 0,
      configServer: master.address,
      slaveConfigServer: slave.address,
      watchMs: 300,
      retryMs: 50,
    });
    cleanups.push(() => service.stop());
    await service.start();
    expect(service.configServerClient.server).toBe(master.address);
    await master.close();
    await waitFor(
      () =>
        service.configServerClient.server === slave.address &&
        slave.server.proxyInfo('ha-cs').some((proxy) => proxy.info === service.advertisedAddress),
      { message: 'the proxy long-polls the slave' },
    );
    // Connected while only the slave answers (its pointer to the dead master fails in between).
    await waitFor(() => service.configServerConnected, { message: 'connected to the slave' });
    const client = proxyClient(service);
    expect(await client.set('after-master-died', '1')).toBe('OK');
    expect(await client.get('after-master-died')).toBe('1');
    // With no ConfigServer left the proxy reports it, and keeps serving with its table.
    await slave.close();
    await waitFor(() => !service.configServerConnected, { message: 'no ConfigServer answers' });
    expect(await client.get('after-master-died')).toBe('1');
  }, 60_000);

  it('set_config master_cs_ip/port re-points the ConfigServer client', async () => {
    const first = await configServer();
    const second = await configServer();
    await first.server.initTable('repoint', 256, [backend.address]);
    await second.server.initTable('repoint', 256, [backend.address]);
    const service = new KvStoreProxyService({
      namespace: 'repoint',
      port: 0,
      configServer: first.address,
      watchMs: 300,
      retryMs: 50,
    });
    cleanups.push(() => service.stop());
    await service.start();
    const app = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
    await app.register(proxyPlugin, service.httpPluginOptions);
    cleanups.push(() => app.close());
    const { port } = parseHostPort(second.address);
    const response = await app.inject({
      method: 'POST',
      url: '/kvstore/proxy/set_config',
      payload: { master_cs_port: port },
    });
    expect(response.json()).toEqual({ code: 1001, msg: 'OK' });
    await waitFor(
      () => second.server.proxyInfo('repoint').some((proxy) => proxy.info === service.advertisedAddress),
      { message: 'the proxy long-polls the new master' },
    );
    expect(service.configServerClient.server).toBe(second.address);
  }, 60_000);
});
