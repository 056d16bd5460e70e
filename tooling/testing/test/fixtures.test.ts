import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  compareRedisDatasets,
  type RedisProcess,
  startEtcd,
  startNutcracker,
  startRedis,
  startRedisCluster,
  waitFor,
} from '../src/index';

describe('redis fixtures', () => {
  const started: { stop(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop()));
  });

  async function redis(options?: Parameters<typeof startRedis>[0]): Promise<RedisProcess> {
    const server = await startRedis(options);
    started.push(server);
    return server;
  }

  it('starts a password-protected redis-server and restarts it on the same port', async () => {
    const server = await redis({ password: 's3cret', args: ['--save', '60 1'] });
    const client = server.client();
    expect(await client.set('greeting', 'hello')).toBe('OK');
    await client.save();
    await server.restart();
    const again = server.client();
    expect(await again.get('greeting')).toBe('hello');
    const anonymous = new Redis({
      port: server.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableReadyCheck: false,
    });
    anonymous.on('error', () => {});
    await anonymous.connect();
    await expect(anonymous.get('greeting')).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();
  });

  it('starts a master + replica pair that replicates', async () => {
    const master = await redis();
    const replica = await redis({ replicaOf: { host: master.host, port: master.port } });
    await master.client().set('replicated', '42');
    const replicaClient = replica.client();
    expect(
      await waitFor(async () => (await replicaClient.get('replicated')) === '42', { message: 'replication' }),
    ).toBe(true);
  });

  it('compares datasets across types, databases and TTLs and names the differences', async () => {
    const left = await redis();
    const right = await redis();
    for (const server of [left, right]) {
      const client = server.client();
      await client.set('string', 'value', 'EX', 100);
      await client.rpush('list', 'a', 'b', 'c');
      await client.hset('hash', { f1: 'v1', f2: 'v2' });
      await client.sadd('set', 'x', 'y');
      await client.zadd('zset', 1, 'one', 2, 'two');
      await client.xadd('stream', '1-1', 'field', 'value');
      await client.select(3);
      await client.set(Buffer.from([0xff, 0x00]), Buffer.from([1, 2, 3]));
    }
    const same = await compareRedisDatasets(left.client(), right.client());
    expect(same).toEqual({ equal: true, keyCount: 7, differences: [] });

    const rightClient = right.client();
    await rightClient.hset('hash', 'f2', 'changed');
    await rightClient.persist('string');
    await rightClient.select(3);
    await rightClient.set('extra', '1');
    const different = await compareRedisDatasets(left.client(), right.client());
    expect(different.equal).toBe(false);
    expect(different.differences).toEqual(
      expect.arrayContaining([
        'db0: key hash (hash) value differs',
        expect.stringMatching(/^db0: key string ttl \d+ ms on source, -1 ms on target$/),
        'db3: key extra only on target',
      ]),
    );
  });

  it('starts nutcracker in front of redis', async () => {
    const backend = await redis();
    const proxy = await startNutcracker({ servers: [backend.address] });
    started.push(proxy);
    // twemproxy closes the connection on ioredis's CLIENT SETINFO and INFO ready check.
    const client = new Redis({
      port: proxy.port,
      lazyConnect: true,
      enableReadyCheck: false,
      disableClientInfo: true,
    });
    await client.connect();
    await client.set('through-twemproxy', 'yes');
    client.disconnect();
    expect(await backend.client().get('through-twemproxy')).toBe('yes');
  });

  it('starts a 3-master redis cluster', async () => {
    const cluster = await startRedisCluster({ masters: 3 });
    started.push(cluster);
    const client = cluster.client();
    for (let index = 0; index < 20; index++) await client.set(`key:${index}`, String(index));
    expect(await client.get('key:7')).toBe('7');
    const perNode = await Promise.all(cluster.nodes.map((node) => node.client().dbsize()));
    expect(perNode.filter((count) => count > 0).length).toBeGreaterThan(1);
    expect(perNode.reduce((sum, count) => sum + count, 0)).toBe(20);
  });
});

describe('etcd fixture', () => {
  it('starts etcd and serves the v3 API', async () => {
    const etcd = await startEtcd();
    const client = new Etcd3({ hosts: etcd.endpoints });
    try {
      await client.put('kvforge/test').value('hello');
      expect(await client.get('kvforge/test').string()).toBe('hello');
    } finally {
      client.close();
      await etcd.stop();
    }
  });
});
