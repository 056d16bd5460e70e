import { makeTempDirectory, type RedisProcess, removeDirectory, startRedis, waitFor } from '@kvforge/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigServerApp, startConfigServerApp } from './config-server-fixture';
import { type ProxyProcess, startProxyProcess } from './proxy-process-fixture';

// Conditions on a loaded 2-core box: generous, never a fixed sleep.
const WAIT = { timeoutMs: 90_000 };

type WorkerRow = {
  worker: number;
  pid: number;
  client_count: number;
  table_version: number;
  max_qps: number;
};

describe('kvstore-proxy --threads 2 (node:cluster workers behind one port)', () => {
  const redis: RedisProcess[] = [];
  let directory: string;
  let configServer: ConfigServerApp;
  let threaded: ProxyProcess;
  let single: ProxyProcess;
  const clients: Redis[] = [];

  const connect = (proxy: ProxyProcess): Redis => {
    const client = new Redis({ port: proxy.port, maxRetriesPerRequest: 1, lazyConnect: false });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };
  const workersOf = async (proxy: ProxyProcess): Promise<WorkerRow[]> =>
    (await proxy.api('stats_info')).workers as WorkerRow[];

  beforeAll(async () => {
    redis.push(...(await Promise.all([startRedis(), startRedis(), startRedis()])));
    directory = makeTempDirectory('kvstore-threads-');
    configServer = await startConfigServerApp(directory);
    await configServer.server.initTable('threads', 256, [redis[0]!.address, redis[1]!.address], 'data_store');
    const settings = { namespace: 'threads', configServer: configServer.address };
    [threaded, single] = await Promise.all([
      startProxyProcess({ ...settings, threads: 2 }),
      startProxyProcess({ ...settings, threads: 1 }),
    ]);
  }, 300_000);

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await threaded?.process.stop();
    await single?.process.stop();
    await configServer?.close();
    await Promise.all(redis.map((server) => server.stop()));
    if (directory) removeDirectory(directory);
  });

  it('spreads connections over both workers; stats_info and /metrics sum them with a workers list', async () => {
    const opened = Array.from({ length: 6 }, () => connect(threaded));
    for (const [index, client] of opened.entries())
      expect(await client.set(`spread:${index}`, 'v')).toBe('OK');
    const workers = await waitFor(
      async () => {
        const rows = await workersOf(threaded);
        return rows.length === 2 && rows.reduce((sum, row) => sum + row.client_count, 0) === 6
          ? rows
          : undefined;
      },
      { ...WAIT, message: 'two workers holding the six clients' },
    );
    for (const row of workers) expect(row.client_count).toBeGreaterThanOrEqual(1);
    const stats = await threaded.api('stats_info');
    expect(stats.client_count).toBe(6);
    expect((stats.cmds as Record<string, number>).set).toBeGreaterThanOrEqual(6);
    expect(await threaded.metrics()).toMatch(/^kvstore_proxy_clients 6$/m);
    expect(await threaded.metrics()).toMatch(/^kvstore_proxy_commands_total\{command="SET"\} \d+$/m);
    // One thread: no workers list, no extra process.
    expect((await single.api('stats_info')).workers).toBeUndefined();
    for (const client of opened) client.disconnect();
  });

  it('a command round-trip suite gives the same replies as --threads 1', async () => {
    const run = async (client: Redis, prefix: string) => {
      const key = (name: string) => `${prefix}:${name}`;
      const commands: (string | number)[][] = [
        ['PING'],
        ['ECHO', 'hello'],
        ['SET', key('s'), 'value'],
        ['GET', key('s')],
        ['APPEND', key('s'), '-more'],
        ['STRLEN', key('s')],
        ['INCR', key('n')],
        ['INCRBY', key('n'), 41],
        ['MSET', key('a'), '1', key('b'), '2', key('c'), '3'],
        ['MGET', key('a'), key('b'), key('missing'), key('c')],
        ['EXISTS', key('a'), key('b'), key('missing')],
        ['DEL', key('a'), key('missing')],
        ['HSET', key('h'), 'f1', 'v1', 'f2', 'v2'],
        ['HGETALL', key('h')],
        ['RPUSH', key('l'), 'x', 'y', 'z'],
        ['LRANGE', key('l'), 0, -1],
        ['SADD', key('set'), 'm1', 'm2'],
        ['SCARD', key('set')],
        ['ZADD', key('z'), 1, 'one', 2, 'two'],
        ['ZRANGE', key('z'), 0, -1, 'WITHSCORES'],
        ['EXPIRE', key('s'), 1000],
        ['TYPE', key('h')],
        ['GET'],
        ['NOSUCHCOMMAND', 'x'],
        ['SELECT', 1],
      ];
      const replies: unknown[] = [];
      for (const [name, ...args] of commands) {
        try {
          const reply = await client.call(String(name), ...args.map(String));
          replies.push(reply);
        } catch (error) {
          replies.push(`error: ${(error as Error).message}`);
        }
      }
      return replies;
    };
    const expected = await run(connect(single), 'rt1');
    const threadedClients = [connect(threaded), connect(threaded)];
    expect(await run(threadedClients[0]!, 'rt2')).toEqual(expected);
    expect(await run(threadedClients[1]!, 'rt3')).toEqual(expected);
    expect(expected).toContain('OK');
  });

  it('add_pattern and set_config act on every worker; max_qps is split, max_client_num is proxy-wide', async () => {
    const [a, b] = [connect(threaded), connect(threaded)];
    await a.set('hidden:a', 'old');
    await b.set('hidden:b', 'old');
    await waitFor(async () => (await workersOf(threaded)).every((row) => row.client_count >= 1), {
      ...WAIT,
      message: 'a client on each worker',
    });
    expect((await threaded.api('add_pattern', { pattern: 'hidden:*' })).code).toBe(1001);
    // Logical delete: on both workers the old values are no longer visible.
    expect(await a.get('hidden:a')).toBeNull();
    expect(await b.get('hidden:b')).toBeNull();
    expect(await a.get('hidden:b')).toBeNull();
    expect((await threaded.api('del_pattern', { pattern: 'hidden:*' })).code).toBe(1001);
    expect(await b.get('hidden:a')).toBe('old');

    // set_config reaches every worker (INFO maxclients is the worker's own config); max_qps is split.
    expect((await threaded.api('set_config', { max_client_num: 1234, max_qps: 1000 })).code).toBe(1001);
    for (const client of [a, b]) {
      await waitFor(async () => (await client.info('clients')).includes('maxclients:1234'), {
        ...WAIT,
        message: 'the worker applied set_config',
      });
    }
    await waitFor(async () => (await workersOf(threaded)).every((row) => row.max_qps === 500), {
      ...WAIT,
      message: 'each worker has half of max_qps',
    });
    expect((await threaded.api('set_config', { max_qps: 1_000_000 })).code).toBe(1001);

    // max_client_num counts the clients of all workers: a and b alone are over 1.
    expect((await threaded.api('set_config', { max_client_num: 1 })).code).toBe(1001);
    const refused = new Redis({ port: threaded.port, maxRetriesPerRequest: 0, retryStrategy: () => null });
    refused.on('error', () => undefined);
    clients.push(refused);
    await expect(refused.ping()).rejects.toThrow(/max number of clients|Connection is closed/);
    expect(await threaded.metrics()).toMatch(/^kvstore_proxy_rejected_clients_total [1-9]\d*$/m);
    expect((await threaded.api('set_config', { max_client_num: 10_000 })).code).toBe(1001);
  });

  it('a bucket migration under live writers on both workers loses no acknowledged write and gives no stale read', async () => {
    const writers = Array.from({ length: 4 }, () => connect(threaded));
    const acknowledged = new Map<string, string>();
    let stale = 0;
    let writes = 0;
    let running = true;
    const loops = writers.map(async (client, writer) => {
      for (let round = 0; running || round < 50; round++) {
        const key = `mig:${writer}:${round % 100}`;
        const value = `${round}`;
        if ((await client.set(key, value)) === 'OK') {
          acknowledged.set(key, value);
          writes++;
        }
        if ((await client.get(key)) !== acknowledged.get(key)) stale++;
      }
    });
    const started = await fetch(`http://${configServer.address}/kvstore/cs/migrate_bucket`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        namespace: 'threads',
        bucket_ids: Array.from({ length: 64 }, (_, index) => index),
        addr: redis[2]!.address,
      }),
    });
    expect(((await started.json()) as { code: number }).code).toBe(1001);
    await waitFor(() => configServer.migrator.status('threads').state === 'success', {
      ...WAIT,
      message: 'migration done',
    });
    running = false;
    await Promise.all(loops);
    expect(stale).toBe(0);
    expect(writes).toBeGreaterThan(0);
    const version = configServer.server.getTable('threads').version;
    const rows = await waitFor(
      async () => {
        const current = await workersOf(threaded);
        return current.length === 2 && current.every((row) => row.table_version === version)
          ? current
          : undefined;
      },
      { ...WAIT, message: 'both workers run the final table' },
    );
    expect(rows).toHaveLength(2);
    const reader = connect(threaded);
    const keys = [...acknowledged.keys()];
    const values = await reader.mget(...keys);
    expect(keys.filter((key, index) => values[index] !== acknowledged.get(key))).toEqual([]);
  });

  it('kill -9 of a worker: it is replaced and logged, and clients are served', async () => {
    const before = await workersOf(threaded);
    expect(before).toHaveLength(2);
    const victim = before[0]!;
    process.kill(victim.pid, 'SIGKILL');
    const after = await waitFor(
      async () => {
        const rows = await workersOf(threaded).catch(() => []);
        return rows.length === 2 && rows.every((row) => row.pid !== victim.pid) ? rows : undefined;
      },
      { ...WAIT, message: 'a replacement worker serving' },
    );
    expect(after.map((row) => row.worker).sort()).toEqual([1, 2]);
    expect(threaded.process.output()).toMatch(/proxy worker died; starting a replacement/);
    const version = configServer.server.getTable('threads').version;
    expect(after.every((row) => row.table_version === version)).toBe(true);
    const fresh = [connect(threaded), connect(threaded)];
    for (const [index, client] of fresh.entries()) {
      expect(await client.set(`after-crash:${index}`, 'ok')).toBe('OK');
      expect(await client.get(`after-crash:${index}`)).toBe('ok');
    }
  });

  it('SIGTERM drains every worker and the primary exits with 0', async () => {
    const pids = (await workersOf(threaded)).map((row) => row.pid);
    expect(pids).toHaveLength(2);
    await threaded.process.stop(30_000);
    expect(await threaded.process.exited).toBe(0);
    await waitFor(() => pids.every((pid) => !isAlive(pid)), { ...WAIT, message: 'workers gone' });
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
