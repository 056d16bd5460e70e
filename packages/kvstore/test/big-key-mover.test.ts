import { type RedisProcess, startRedis } from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBigKeys, moveBigKey } from '../src/config-server/big-key-mover';
import { migrateBatch } from '../src/config-server/migrator-options';

describe('moveBigKey: chunked copy per type (real redis-servers)', () => {
  let source: RedisProcess;
  let target: RedisProcess;
  let from: Redis;
  let to: Redis;
  beforeAll(async () => {
    [source, target] = await Promise.all([startRedis(), startRedis()]);
    from = source.client();
    to = target.client();
  }, 120_000);
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  const whole = (key: Buffer) =>
    migrateBatch(from, { host: '127.0.0.1', port: target.port }, [], [key], 5000).then(() => undefined);
  const move = (key: string) => moveBigKey(from, to, Buffer.from(key), 7, whole);

  it('copies hash, zset, list and string exactly, with the TTL, and leaves no temporary key', async () => {
    const fields = Array.from({ length: 50 }, (_, index) => [`f${index}`, `v${index}`]).flat();
    await from.hset('1_h', ...fields);
    await from.zadd(
      '1_z',
      ...Array.from({ length: 50 }, (_, index) => [String(index / 3), `m${index}`]).flat(),
    );
    await from.rpush('1_l', ...Array.from({ length: 50 }, (_, index) => `e${index}`));
    const bytes = Buffer.alloc(3 << 20, 7);
    bytes.write('end', bytes.length - 3);
    await from.set('1_s', bytes);
    await from.pexpire('1_h', 600_000);
    const zBefore = await from.zrange('1_z', 0, -1, 'WITHSCORES');
    for (const key of ['1_h', '1_z', '1_l', '1_s']) expect(await move(key)).toBe('moved');
    expect(await to.hgetall('1_h')).toEqual(
      Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, `v${i}`])),
    );
    expect(await to.zrange('1_z', 0, -1, 'WITHSCORES')).toEqual(zBefore);
    expect(await to.lrange('1_l', 0, -1)).toEqual(Array.from({ length: 50 }, (_, index) => `e${index}`));
    expect((await to.getBuffer('1_s'))?.equals(bytes)).toBe(true);
    const ttl = await to.pttl('1_h');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600_000);
    expect(await to.pttl('1_l')).toBe(-1);
    expect(await from.dbsize()).toBe(0);
    expect((await to.keys('__kvforge_big_*')).length).toBe(0);
  });

  it('falls back to one MIGRATE for a stream; a key already gone is reported, not recreated', async () => {
    await from.xadd('2_x', '*', 'a', '1');
    await from.xadd('2_x', '*', 'b', '2');
    expect(await move('2_x')).toBe('whole');
    expect(await to.xlen('2_x')).toBe(2);
    expect(await move('2_missing')).toBe('gone');
    expect(await to.exists('2_missing')).toBe(0);
  });

  it('keeps a copy the destination already has (as BUSYKEY does), and resumes from its own temporary key', async () => {
    await from.sadd('3_k', 'old');
    await to.sadd('3_k', 'new');
    expect(await move('3_k')).toBe('destination-kept');
    expect(await to.smembers('3_k')).toEqual(['new']);
    expect(await from.exists('3_k', '__kvforge_big_src_3_k')).toBe(0);
    // A run that stopped after its RENAME left the source copy under the temporary name.
    await from.sadd('__kvforge_big_src_4_k', 'a', 'b', 'c');
    expect(await move('4_k')).toBe('moved');
    expect((await to.smembers('4_k')).sort()).toEqual(['a', 'b', 'c']);
    expect(await from.exists('__kvforge_big_src_4_k')).toBe(0);
  });

  it('findBigKeys picks keys over the threshold by MEMORY USAGE', async () => {
    await from.set('5_small', 'x');
    await from.set('5_big', Buffer.alloc(200_000));
    const keys = ['5_small', '5_big', '5_none'].map((key) => Buffer.from(key));
    expect([...(await findBigKeys(from, keys, 100_000))]).toEqual([1]);
  });
});
