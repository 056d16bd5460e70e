import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createClient as createClientV6 } from 'redis';
import { createClient as createClientV4 } from 'redis-v4';
import { createClient as createClientV5 } from 'redis-v5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KvstoreCluster, startKvstoreCluster } from './kvstore-fixture';

const run = promisify(execFile);

/** The commands every client sends, with what a reply must be once normalised to plain values. */
interface Driver {
  send(args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

/** Maps → sorted entry lists, sets → sorted arrays, Buffers → strings: compare RESP2 and RESP3 alike. */
function normalise(value: unknown): unknown {
  if (value instanceof Map) return [...value].map(([k, v]) => [normalise(k), normalise(v)]).sort();
  if (value instanceof Set) return [...value].map(normalise).sort();
  if (Buffer.isBuffer(value)) return value.toString();
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => [k, normalise(v)])
      .sort();
  }
  return value;
}

async function roundTrip(driver: Driver, prefix: string): Promise<void> {
  const key = (name: string) => `${prefix}:${name}`;
  expect(await driver.send(['PING'])).toBe('PONG');
  expect(await driver.send(['SET', key('s'), 'value'])).toBe('OK');
  expect(await driver.send(['GET', key('s')])).toBe('value');
  expect(await driver.send(['GET', key('missing')])).toBeNull();
  expect(await driver.send(['INCR', key('n')])).toBe(1);
  expect(normalise(await driver.send(['MGET', key('s'), key('missing'), key('n')]))).toEqual([
    'value',
    null,
    '1',
  ]);
  expect(await driver.send(['HSET', key('h'), 'a', '1', 'b', '2'])).toBe(2);
  const hash = normalise(await driver.send(['HGETALL', key('h')]));
  // RESP2: a flat array; RESP3: a map.
  expect([
    JSON.stringify(['a', '1', 'b', '2']),
    JSON.stringify([
      ['a', '1'],
      ['b', '2'],
    ]),
  ]).toContain(JSON.stringify(hash));
  expect(await driver.send(['SADD', key('set'), 'x', 'y'])).toBe(2);
  expect((normalise(await driver.send(['SMEMBERS', key('set')])) as string[]).sort()).toEqual(['x', 'y']);
  expect(await driver.send(['ZADD', key('z'), '1.5', 'm'])).toBe(1);
  expect(Number(await driver.send(['ZSCORE', key('z'), 'm']))).toBe(1.5);
  expect(await driver.send(['RPUSH', key('l'), 'a', 'b', 'c'])).toBe(3);
  expect(normalise(await driver.send(['LRANGE', key('l'), '0', '-1']))).toEqual(['a', 'b', 'c']);
  expect(await driver.send(['EXPIRE', key('s'), '100'])).toBe(1);
  expect(Number(await driver.send(['TTL', key('s')]))).toBeGreaterThan(0);
  expect(await driver.send(['DEL', key('s'), key('n'), key('h'), key('missing')])).toBe(3);
  expect(await driver.send(['EXISTS', key('s')])).toBe(0);
}

describe('client libraries with their default options, RESP2 and RESP3, through the proxy', () => {
  let cluster: KvstoreCluster;
  beforeAll(async () => {
    cluster = await startKvstoreCluster({ backends: 2 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const url = () => `redis://127.0.0.1:${cluster.proxyPort}`;

  it('node-redis 6 (newest, default options: HELLO 3)', async () => {
    const client = createClientV6({ url: url() });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await roundTrip({ send: (args) => client.sendCommand(args), close: async () => undefined }, 'v6');
      // RESP3 really is in use: HGETALL arrives as a map, not as a flat array.
      await client.sendCommand(['HSET', 'v6:h2', 'a', '1']);
      const hash = await client.sendCommand(['HGETALL', 'v6:h2']);
      expect(Array.isArray(hash)).toBe(false);
      expect(normalise(hash)).toEqual([['a', '1']]);
    } finally {
      client.destroy();
    }
  });

  it('node-redis 6 with RESP3 and a client name (HELLO 3 SETNAME)', async () => {
    const client = createClientV6({ url: url(), RESP: 3, name: 'resp3-client' });
    client.on('error', () => undefined);
    await client.connect();
    try {
      expect(await client.sendCommand(['CLIENT', 'GETNAME'])).toBe('resp3-client');
      await roundTrip({ send: (args) => client.sendCommand(args), close: async () => undefined }, 'v6n');
    } finally {
      client.destroy();
    }
  });

  it('node-redis 5 and 4 (default options)', async () => {
    const v5 = createClientV5({ url: url() });
    const v4 = createClientV4({ url: url() });
    v5.on('error', () => undefined);
    v4.on('error', () => undefined);
    await v5.connect();
    await v4.connect();
    try {
      await roundTrip({ send: (args) => v5.sendCommand(args), close: async () => undefined }, 'v5');
      await roundTrip({ send: (args) => v4.sendCommand(args), close: async () => undefined }, 'v4');
    } finally {
      await v5.quit();
      await v4.quit();
    }
  });

  it('ioredis', async () => {
    const client = cluster.client();
    await roundTrip(
      { send: ([name, ...rest]) => client.call(name!, ...rest), close: async () => undefined },
      'io',
    );
  });

  it('redis-cli -3 gets RESP3 types', async () => {
    const cli = async (...args: string[]) =>
      (await run('redis-cli', ['-3', '--no-raw', '-p', String(cluster.proxyPort), ...args])).stdout.trim();
    expect(await cli('SET', 'cli:s', 'v')).toBe('OK');
    expect(await cli('GET', 'cli:s')).toBe('"v"');
    expect(await cli('GET', 'cli:missing')).toBe('(nil)');
    expect(await cli('HSET', 'cli:h', 'a', '1')).toBe('(integer) 1');
    expect(await cli('HGETALL', 'cli:h')).toBe('1# "a" => "1"');
    expect(await cli('ZADD', 'cli:z', '2.5', 'm')).toBe('(integer) 1');
    expect(await cli('ZSCORE', 'cli:z', 'm')).toBe('(double) 2.5');
    expect(await cli('SADD', 'cli:set', 'x')).toBe('(integer) 1');
    expect(await cli('SMEMBERS', 'cli:set')).toBe('1~ "x"');
    expect(await cli('MGET', 'cli:s', 'cli:missing')).toBe('1) "v"\n2) (nil)');
    // A RESP2 connection next to it still gets RESP2.
    const resp2 = (
      await run('redis-cli', ['--no-raw', '-p', String(cluster.proxyPort), 'HGETALL', 'cli:h'])
    ).stdout.trim();
    expect(resp2).toBe('1) "a"\n2) "1"');
  });

  it('answers subscribe and client tracking with a clear error', async () => {
    const client = new Redis({ port: cluster.proxyPort, maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    try {
      await expect(client.call('CLIENT', 'TRACKING', 'on')).rejects.toThrow(/ERR/);
      await expect(client.call('SUBSCRIBE', 'channel')).rejects.toThrow(/ERR/);
    } finally {
      client.disconnect();
    }
  });
});

describe('HELLO 3 AUTH through a proxy with a password', () => {
  let cluster: KvstoreCluster;
  beforeAll(async () => {
    cluster = await startKvstoreCluster({ backends: 1, service: { password: 'secret' } });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('node-redis 6 authenticates with HELLO 3 AUTH and is refused with a wrong password', async () => {
    const client = createClientV6({ url: `redis://default:secret@127.0.0.1:${cluster.proxyPort}` });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await roundTrip({ send: (args) => client.sendCommand(args), close: async () => undefined }, 'auth');
    } finally {
      client.destroy();
    }
    const wrong = createClientV6({
      url: `redis://default:wrong@127.0.0.1:${cluster.proxyPort}`,
      socket: { reconnectStrategy: false },
    });
    wrong.on('error', () => undefined);
    try {
      await expect(wrong.connect()).rejects.toThrow(/WRONGPASS/);
    } finally {
      if (wrong.isOpen) wrong.destroy();
    }
  });
});
