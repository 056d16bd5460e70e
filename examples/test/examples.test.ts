import { connect } from 'node:net';
import { RespErrorReply } from '@kvforge/resp';
import { getFreePort, type RedisProcess, startRedis, waitFor } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as runDcacheInFastify } from '../src/dcache-in-fastify';
import { run as runGunyuSyncPipeline } from '../src/gunyu-sync-pipeline';
import { run as runKvstoreEmbeddedProxy } from '../src/kvstore-embedded-proxy';
import { run as runMemcacheRoundTrip } from '../src/memcache-round-trip';
import { run as runRespWithRedis } from '../src/resp-with-redis';

let source: RedisProcess;
let target: RedisProcess;
let masters: RedisProcess[];

beforeAll(async () => {
  [source, target, ...masters] = await Promise.all([startRedis(), startRedis(), startRedis(), startRedis()]);
});

afterAll(async () => {
  await Promise.all([source, target, ...masters].map((server) => server?.stop()));
});

/** Whether anything still accepts connections on the port (an example must close what it opened). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('library examples against real servers', () => {
  it('dcache-in-fastify: the app route and the cache share one server, which is closed afterwards', async () => {
    const port = await getFreePort();
    const result = await runDcacheInFastify({ host: '127.0.0.1', port });
    expect(result).toEqual({
      greeting: { hello: 'from the app' },
      readBack: { name: '张三' },
      answeredBy: `node-${port}`,
    });
    expect(await accepts(port)).toBe(false);
  });

  it('resp-with-redis: a pipeline of encoded commands decodes to one reply each, errors as values', async () => {
    const replies = await runRespWithRedis({ host: source.host, port: source.port });
    expect(replies.slice(0, 5)).toEqual([0, 'OK', 'hello 你好', 3, ['a', 'b', '3']]);
    expect(replies).toHaveLength(6);
    const error = replies[5];
    expect(error).toBeInstanceOf(RespErrorReply);
    expect((error as RespErrorReply).prefix).toBe('ERR');
    expect(await source.client().get('example:resp:greeting')).toBe('hello 你好');
  });

  it('gunyu-sync-pipeline: writes before and during the sync reach the target; stop drops the link', async () => {
    const result = await runGunyuSyncPipeline({ source: source.address, target: target.address });
    expect(result.beforeStart.onTarget).toBe(result.beforeStart.written);
    expect(result.whileRunning.onTarget).toBe(result.whileRunning.written);
    expect(result.beforeStart.written).not.toBe(result.whileRunning.written);
    expect(result.state).toBe('run');
    // The syncer registered as a replica of the source; once stopped it must be gone.
    const sourceClient = source.client();
    await waitFor(async () => /connected_slaves:0/.test(await sourceClient.info('replication')), {
      timeoutMs: 10_000,
      message: 'the stopped syncer is still connected to the source',
    });
  });

  it('memcache-round-trip: the bytes read back are the bytes put, from rank 0 DRAM', async () => {
    const result = await runMemcacheRoundTrip({ host: '127.0.0.1', valueBytes: 3 * 1024 * 1024 + 17 });
    expect(result.written).toHaveLength(3 * 1024 * 1024 + 17);
    expect(result.readBack.equals(result.written)).toBe(true);
    expect(result.blobs).toEqual(['rank-0-DRAM']);
  });

  it('kvstore-embedded-proxy: every key reads back and sits, prefixed, on the master its bucket names', async () => {
    const addresses = masters.map((master) => master.address);
    const result = await runKvstoreEmbeddedProxy({ masters: addresses, keyCount: 200 });
    expect(result.readBack).toEqual(result.written);
    expect(Object.keys(result.keysPerMaster).sort()).toEqual([...addresses].sort());
    const counted = Object.values(result.keysPerMaster).reduce((sum, count) => sum + count, 0);
    expect(counted).toBe(200);
    // Nothing else was stored: no unprefixed copies, no keys on the wrong master.
    const sizes = await Promise.all(masters.map((master) => master.client().dbsize()));
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(200);
  });
});
