import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { startRedis, waitFor } from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { murmurHash2 } from '../src/core/murmur-hash2';
import { type KvstoreCluster, startKvstoreCluster } from './kvstore-fixture';

const run = promisify(execFile);

function bucketOf(key: string | Buffer, count = 256): number {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key;
  return murmurHash2(bytes) % count;
}

interface RawReply {
  text: string;
  /** Whether the proxy closed the connection (rather than `until` matching). */
  closed: boolean;
}

/**
 * Sends raw bytes and resolves once the proxy closes the connection or `until` matches what came
 * back. Neither happening within 10 s rejects, so a proxy that answers nothing fails the test.
 */
function rawExchange(
  port: number,
  payload: Buffer | string,
  until: (text: string) => boolean = () => false,
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close and no matching reply within 10 s; received ${JSON.stringify(text)}`));
    }, 10_000);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (until(text)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.on('connect', () => socket.write(payload));
  });
}

describe('KvStoreProxy over 3 real redis-servers', () => {
  let cluster: KvstoreCluster;
  let client: Redis;

  let admins: Redis[] = [];

  beforeAll(async () => {
    cluster = await startKvstoreCluster();
    client = cluster.client();
    admins = cluster.redis.map((server) => server.client());
  }, 60_000);
  // Every test starts from empty backends: none can pass or fail on another test's keys.
  beforeEach(async () => {
    await Promise.all(admins.map((admin) => admin.flushall()));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** The backend that owns `key` according to the table, and the raw stored key. */
  async function rawLocation(key: string | Buffer): Promise<{ backend: Redis; stored: Buffer }> {
    const table = cluster.proxy.currentTable!;
    const bucket = bucketOf(key, table.owners.length);
    const address = table.owners[bucket]!;
    const backend = admins[cluster.redis.findIndex((redis) => redis.address === address)]!;
    const stored = Buffer.concat([
      Buffer.from(`${bucket}_`),
      typeof key === 'string' ? Buffer.from(key) : key,
    ]);
    return { backend, stored };
  }

  it('stores single keys as <bucket>_<key> on the owning backend', async () => {
    for (let index = 0; index < 30; index++) {
      expect(await client.set(`user:${index}`, `value-${index}`)).toBe('OK');
    }
    for (let index = 0; index < 30; index++) {
      expect(await client.get(`user:${index}`)).toBe(`value-${index}`);
      const { backend, stored } = await rawLocation(`user:${index}`);
      expect(await backend.get(stored)).toBe(`value-${index}`);
    }
    // The keys are spread over all three backends.
    const sizes = await Promise.all(admins.map((admin) => admin.dbsize()));
    expect(sizes.filter((size) => size > 0).length).toBe(3);
  });

  it('runs hash, list, set, zset, HLL, bitmap, expire and TTL commands', async () => {
    expect(await client.hset('h', 'a', '1', 'b', '2')).toBe(2);
    expect(await client.hgetall('h')).toEqual({ a: '1', b: '2' });
    expect(await client.rpush('l', 'x', 'y', 'z')).toBe(3);
    expect(await client.lrange('l', 0, -1)).toEqual(['x', 'y', 'z']);
    expect(await client.lpop('l')).toBe('x');
    expect(await client.sadd('s', 'a', 'b')).toBe(2);
    expect((await client.smembers('s')).sort()).toEqual(['a', 'b']);
    expect(await client.zadd('z', 1, 'one', 2, 'two')).toBe(2);
    expect(await client.zpopmin('z')).toEqual(['one', '1']);
    expect(await client.pfadd('hll', 'a', 'b', 'c')).toBe(1);
    expect(await client.pfcount('hll')).toBe(3);
    expect(await client.setbit('bits', 7, 1)).toBe(0);
    expect(await client.bitcount('bits')).toBe(1);
    expect(await client.incr('counter')).toBe(1);
    expect(await client.expire('counter', 100)).toBe(1);
    const ttl = await client.ttl('counter');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await client.type('h')).toBe('hash');
    const dump = await client.dumpBuffer('h');
    expect(await client.restore('h-copy', 0, dump)).toBe('OK');
    expect(await client.hget('h-copy', 'b')).toBe('2');
  });

  it('splits MSET/MGET/DEL/EXISTS/TOUCH/UNLINK across buckets and merges in order', async () => {
    const keys = Array.from({ length: 50 }, (_, index) => `multi:${index}`);
    const pairs = keys.flatMap((key, index) => [key, `v${index}`]);
    expect(await client.mset(...pairs)).toBe('OK');
    const values = await client.mget(...keys, 'multi:missing');
    expect(values).toEqual([...keys.map((_, index) => `v${index}`), null]);
    expect(await client.exists(...keys, 'multi:missing')).toBe(50);
    expect(await client.touch(...keys.slice(0, 10))).toBe(10);
    expect(await client.del(...keys.slice(0, 20))).toBe(20);
    expect(await client.unlink(...keys.slice(20), 'multi:missing')).toBe(30);
    expect(await client.exists(...keys)).toBe(0);
    const buckets = new Set(keys.map((key) => cluster.proxy.currentTable!.owners[bucketOf(key)]));
    expect(buckets.size).toBe(3);
  });

  it('keeps the order of a 1000-command pipeline', async () => {
    const pipeline = client.pipeline();
    for (let index = 0; index < 1000; index++) {
      pipeline.set(`p:${index}`, String(index));
      pipeline.incr(`p:${index}`);
    }
    const results = await pipeline.exec();
    expect(results).toHaveLength(2000);
    for (let index = 0; index < 1000; index++) {
      expect(results![index * 2]).toEqual([null, 'OK']);
      expect(results![index * 2 + 1]).toEqual([null, index + 1]);
    }
    const read = client.pipeline();
    for (let index = 0; index < 1000; index++) read.get(`p:${index}`);
    expect((await read.exec())!.map(([, value]) => value)).toEqual(
      Array.from({ length: 1000 }, (_, index) => String(index + 1)),
    );
  });

  it('round-trips binary keys and values and a 10 MB value', async () => {
    const key = Buffer.from([0x00, 0xff, 0x80, 0x0d, 0x0a, 0x2a, 0x24]);
    const value = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
    expect(await client.set(key, value)).toBe('OK');
    expect(await client.getBuffer(key)).toEqual(value);
    const { backend, stored } = await rawLocation(key);
    expect(await backend.getBuffer(stored)).toEqual(value);
    const big = Buffer.alloc(10 * 1024 * 1024);
    for (let index = 0; index < big.length; index += 4096) big[index] = index & 0xff;
    expect(await client.set('big', big)).toBe('OK');
    // Buffer#equals: vitest's deep equality walks 10 M elements one by one.
    expect((await client.getBuffer('big'))?.equals(big)).toBe(true);
    expect(await client.strlen('big')).toBe(big.length);
  });

  it('answers connection commands locally', async () => {
    expect(await client.ping()).toBe('PONG');
    expect(await client.ping('hello')).toBe('hello');
    expect(await client.echo('x')).toBe('x');
    expect(await client.select(0)).toBe('OK');
    await expect(client.select(1)).rejects.toThrow(/out of range/);
    expect(await client.call('CONFIG', 'GET', 'save')).toEqual(['save', '']);
    expect(await client.call('CLIENT', 'SETNAME', 'me')).toBe('OK');
    expect(await client.call('CLIENT', 'GETNAME')).toBe('me');
    expect(await client.info()).toContain('kvstore_proxy:1');
    const total = (await Promise.all(admins.map((admin) => admin.dbsize()))).reduce((a, b) => a + b);
    expect(await client.dbsize()).toBe(total);
    await expect(client.call('HELLO', '4')).rejects.toThrow(/NOPROTO/);
    expect(await client.call('HELLO', '2')).toContain('proto');
  });

  it('refuses unsupported and cross-key commands with -ERR command not support', async () => {
    await expect(client.keys('*')).rejects.toThrow('ERR command not support');
    await expect(client.call('RENAME', 'a', 'b')).rejects.toThrow('ERR command not support');
    await expect(client.call('PFCOUNT', 'a', 'b')).rejects.toThrow('ERR command not support');
    await expect(client.call('NOSUCHCOMMAND')).rejects.toThrow('ERR command not support');
    await expect(client.call('GET')).rejects.toThrow(/wrong number of arguments/);
    await expect(client.call('MSET', 'a', 'b', 'c')).rejects.toThrow(/wrong number of arguments/);
    expect(await client.ping()).toBe('PONG');
  });

  it('accepts inline commands', async () => {
    const reply = await rawExchange(
      cluster.proxyPort,
      'PING\r\nSET inline:k hello\r\nGET inline:k\r\n',
      (text) => text.endsWith('$5\r\nhello\r\n'),
    );
    expect(reply.text).toBe('+PONG\r\n+OK\r\n$5\r\nhello\r\n');
  });

  it('survives bad RESP: random bytes, huge lengths, unterminated frames', async () => {
    expect(await client.set('bad-resp:kept', 'kept')).toBe('OK');
    // Protocol errors answer one -ERR and close the connection, like Redis.
    for (const input of [
      '*abc\r\n',
      '*2\r\n$3\r\nGET\r\n$-5\r\n',
      '*1\r\n$99999999999\r\n',
      '*999999999\r\n',
    ]) {
      expect(await rawExchange(cluster.proxyPort, input), JSON.stringify(input)).toEqual({
        text: '-ERR parse redis protocol failed\r\n',
        closed: true,
      });
    }
    // Text that is not a multibulk is read as inline commands: each line gets its -ERR, the connection stays.
    const lines = (text: string) => text.split('\r\n').length - 1;
    expect(await rawExchange(cluster.proxyPort, '$3\r\nGET\r\n', (text) => lines(text) === 2)).toEqual({
      text: "-ERR command not support\r\n-ERR wrong number of arguments for 'get' command\r\n",
      closed: false,
    });
    const garbage = Buffer.from(Array.from({ length: 512 }, (_, index) => (index * 131 + 7) & 0xff));
    // Inline commands end at \n; blank lines are skipped; the unterminated tail waits for more.
    const garbageLines = garbage
      .toString('latin1')
      .split('\n')
      .slice(0, -1)
      .filter((line) => line.replace(/[\s]/g, '').length > 0).length;
    expect(garbageLines).toBeGreaterThan(0);
    const garbageReply = await rawExchange(
      cluster.proxyPort,
      garbage,
      (text) => lines(text) === garbageLines,
    );
    expect(garbageReply.closed).toBe(false);
    expect(garbageReply.text).toMatch(/^(-ERR [^\r\n]*\r\n)+$/);
    // An unterminated frame waits for the rest, then is answered.
    const partial = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: cluster.proxyPort });
      let text = '';
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (text.endsWith('\r\n')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('connect', () => {
        socket.write('*2\r\n$3\r\nGET\r\n$13\r\nbad-r');
        // The second half goes out on a later turn, as a separate TCP segment.
        setImmediate(() => socket.write('esp:kept\r\n'));
      });
    });
    expect(partial).toBe('$4\r\nkept\r\n');
    expect(await client.ping()).toBe('PONG');
    expect(await client.get('bad-resp:kept')).toBe('kept');
  });

  it('works with redis-cli', async () => {
    const { stdout } = await run('redis-cli', [
      '-p',
      String(cluster.proxyPort),
      'SET',
      'cli:key',
      'cli-value',
    ]);
    expect(stdout.trim()).toBe('OK');
    const { stdout: value } = await run('redis-cli', ['-p', String(cluster.proxyPort), 'GET', 'cli:key']);
    expect(value.trim()).toBe('cli-value');
  });

  it('runs redis-benchmark over the supported command set without errors', async () => {
    const { stdout, stderr } = await run(
      'redis-benchmark',
      [
        '-p',
        String(cluster.proxyPort),
        '-n',
        '2000',
        '-c',
        '10',
        '-q',
        '-t',
        'set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange,mset',
      ],
      { timeout: 90_000 },
    );
    expect(stderr).not.toMatch(/error/i);
    expect(stdout).not.toMatch(/ERR|error/i);
    for (const name of ['SET', 'GET', 'INCR', 'LPUSH', 'SADD', 'HSET', 'ZADD', 'MSET'])
      expect(stdout).toContain(name);
  }, 120_000);

  it('gets a replace_server pushed by the ConfigServer and routes to the new backend', async () => {
    const replacement = await startRedis();
    try {
      const table = cluster.proxy.currentTable!;
      const oldAddress = cluster.redis[2]!.address;
      const result = await cluster.cs('replace_server', {
        namespace: 'test',
        old_addr: oldAddress,
        new_addr: replacement.address,
      });
      expect(result.code).toBe(1001);
      await waitFor(() => cluster.proxy.tableVersion === table.version + 1, { message: 'table pushed' });
      const key = Array.from({ length: 100 }, (_, index) => `moved:${index}`).find(
        (candidate) => table.owners[bucketOf(candidate)] === oldAddress,
      )!;
      expect(await client.set(key, 'on-new')).toBe('OK');
      const raw = replacement.client();
      expect(await raw.get(`${bucketOf(key)}_${key}`)).toBe('on-new');
      raw.disconnect();
      const info = await cluster.cs('proxy_info', { namespace: 'test' });
      expect(info.proxy_info).toEqual([{ info: `127.0.0.1:${cluster.proxyPort}`, state: 'ONLINE' }]);
    } finally {
      // Put the original back (even when an assertion failed) so the other tests see the usual table.
      if (cluster.proxy.currentTable?.owners.includes(replacement.address)) {
        const back = await cluster.cs('replace_server', {
          namespace: 'test',
          old_addr: replacement.address,
          new_addr: cluster.redis[2]!.address,
        });
        expect(back.code).toBe(1001);
        await waitFor(() => !cluster.proxy.currentTable?.owners.includes(replacement.address), {
          message: 'table pushed back',
        });
      }
      await replacement.stop();
    }
  });

  it('fails fast while a backend is down and recovers after it restarts', async () => {
    const server = cluster.redis[0]!;
    const table = cluster.proxy.currentTable!;
    const key = Array.from({ length: 100 }, (_, index) => `down:${index}`).find(
      (candidate) => table.owners[bucketOf(candidate)] === server.address,
    )!;
    await server.kill('SIGKILL');
    await waitFor(
      async () => {
        try {
          await client.get(key);
          return false;
        } catch (error) {
          return /redis server is down|connection to redis lost/.test((error as Error).message);
        }
      },
      { message: 'fail-fast error' },
    );
    await server.restart();
    await waitFor(async () => (await client.set(key, 'back').catch(() => null)) === 'OK', {
      message: 'recovered',
    });
    expect(await client.get(key)).toBe('back');
  });
});

describe('KvStoreProxy client password', () => {
  let cluster: KvstoreCluster;
  beforeAll(async () => {
    cluster = await startKvstoreCluster({ backends: 1, service: { password: 'secret' } });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('requires AUTH before data commands', async () => {
    const anonymous = cluster.client({ lazyConnect: true, enableReadyCheck: false });
    await anonymous.connect();
    await expect(anonymous.get('k')).rejects.toThrow(/NOAUTH/);
    await expect(anonymous.auth('wrong')).rejects.toThrow(/WRONGPASS/);
    expect(await anonymous.auth('secret')).toBe('OK');
    expect(await anonymous.set('k', 'v')).toBe('OK');
    const authed = cluster.client({ password: 'secret' });
    expect(await authed.get('k')).toBe('v');
  });
});
