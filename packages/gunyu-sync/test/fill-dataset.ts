import type { Redis } from 'ioredis';

/** Fills a server with every Redis 7.0 encoding: small/big/LZF strings, ints, all collection encodings, streams with groups, TTLs, several DBs, a function. */
export async function fillEveryType(client: Redis, options: { bigListLength?: number } = {}): Promise<void> {
  const pipeline = client.pipeline();
  pipeline.select(0);
  pipeline.set('string:small', 'hello');
  pipeline.set('string:int', '12345');
  pipeline.set('string:negative', '-70000');
  pipeline.set('string:big-int', '9007199254740993');
  pipeline.set('string:lzf', 'a'.repeat(5000));
  pipeline.set('string:random', Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) & 0xff)));
  pipeline.set('string:ttl', 'expiring', 'PX', 3_600_000);
  pipeline.rpush('list:small', 'a', 'b', '1', '-5', '300000', 'c'.repeat(100));
  const bigList = options.bigListLength ?? 20_000;
  for (let i = 0; i < bigList; i += 1000) {
    pipeline.rpush(
      'list:big',
      ...Array.from({ length: Math.min(1000, bigList - i) }, (_, j) => `element-${i + j}`),
    );
  }
  pipeline.rpush('list:plain-node', 'x'.repeat(20_000), 'y');
  pipeline.hset('hash:small', 'f1', 'v1', 'f2', '2', 'f3', '-3');
  for (let i = 0; i < 1000; i++) pipeline.hset('hash:big', `field-${i}`, `value-${i}`);
  pipeline.sadd('set:intset', 1, 2, 3, -4, 70000, 5_000_000_000);
  pipeline.sadd('set:plain', 'alpha', 'beta', 'gamma');
  for (let i = 0; i < 600; i++) pipeline.sadd('set:big', `member-${i}`);
  pipeline.zadd('zset:small', 1, 'one', 2.5, 'two-and-a-half', -3, 'minus-three');
  for (let i = 0; i < 300; i++) pipeline.zadd('zset:big', i / 7, `member-${i}`);
  pipeline.zadd('zset:inf', 'inf', 'plus', '-inf', 'minus');
  pipeline.xadd('stream:plain', '1-1', 'a', '1', 'b', '2');
  pipeline.xadd('stream:plain', '1-2', 'a', '3', 'b', '4');
  pipeline.xadd('stream:plain', '2-0', 'other', 'fields');
  pipeline.xadd('stream:plain', '3-0', 'c', '5');
  pipeline.xdel('stream:plain', '3-0');
  pipeline.xadd('stream:groups', '*', 'k', 'v1');
  pipeline.xadd('stream:groups', '*', 'k', 'v2');
  pipeline.xgroup('CREATE', 'stream:groups', 'group-a', '0');
  pipeline.xreadgroup('GROUP', 'group-a', 'consumer-1', 'COUNT', '1', 'STREAMS', 'stream:groups', '>');
  pipeline.select(3);
  pipeline.set('db3:key', 'in db 3');
  pipeline.hset('db3:hash', 'x', 'y');
  pipeline.select(0);
  await pipeline.exec();
  await client.call(
    'FUNCTION',
    'LOAD',
    'REPLACE',
    "#!lua name=gunyulib\nredis.register_function('gunyu_echo', function(keys, args) return args[1] end)",
  );
}
