import { createHash } from 'node:crypto';
import { SILENT_LOGGER } from '@kvforge/runtime';
import { seededRandom, waitFor } from '@kvforge/testing';
import type { FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalService,
  MEDIUM,
  MemCacheClient,
  MetaRpcClient,
  type MetaServiceServer,
  MMC,
  RPC_OPCODE,
  startLocalService,
  startMetaServiceServer,
} from '../src/index';

const logger = { ...SILENT_LOGGER, fatal: () => undefined, trace: () => undefined, level: 'silent' };
const quietLogger = { ...logger, child: () => quietLogger } as unknown as FastifyBaseLogger;
const MiB = 1024 * 1024;
const digest = (value: Buffer) => createHash('sha256').update(value).digest('hex');

function bytes(random: () => number, size: number): Buffer {
  const value = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; at += 4) value.writeUInt32LE(Math.floor(random() * 2 ** 32), at);
  return value;
}

describe('eviction under pressure with real local services: HBM→DRAM demotion copies the bytes, then eviction', () => {
  let meta: MetaServiceServer;
  const locals: LocalService[] = [];
  let client: MemCacheClient;
  let reader: MetaRpcClient;

  beforeAll(async () => {
    meta = await startMetaServiceServer({
      rpcUrl: 'tcp://127.0.0.1:0',
      restUrl: 'http://127.0.0.1:0',
      logger: quietLogger,
      tickIntervalMs: 20,
      // A reader's lease outlives the whole test: "being read" holds for as long as the test needs.
      service: { leaseMilliseconds: 600_000 },
    });
    const metaUrl = `tcp://127.0.0.1:${meta.rpc.port}`;
    for (const rank of [0, 1]) {
      locals.push(await startLocalService({ rank, metaUrl, dramBytes: 24 * MiB, hbmBytes: 8 * MiB }));
    }
    client = await MemCacheClient.connect({ metaUrl });
    reader = await MetaRpcClient.connect(metaUrl);
  });

  afterAll(async () => {
    await client?.close();
    await reader?.close();
    for (const local of locals) await local.close();
    await meta?.close();
  });

  it('demotes the least recently used HBM objects with their bytes, never one being read, then evicts DRAM', async () => {
    const random = seededRandom(3);
    const values = new Map<string, Buffer>();
    const put = async (key: string, medium?: 'hbm' | 'dram') => {
      const value = bytes(random, MiB);
      await client.put(key, value, medium ? { medium } : {});
      values.set(key, value);
    };
    await put('hbm-0');
    // A reader holds hbm-0 (Get leases it; no READ_FINISH yet).
    const [leased] = await reader.call(RPC_OPCODE.GET_REPLICAS, 'hbm-0');
    expect(leased).toBe(MMC.OK);
    // 16 MiB of HBM: the 15th and later puts find it above 90% and demote down to 80%.
    for (let index = 1; index < 18; index++) await put(`hbm-${index}`);

    const mediumOf = async (key: string) => (await client.query(key))?.blobs[0]?.medium;
    // Every demotion was queued inside an alloc, so before the last put resolved; wait until their copies
    // finished. Not "HBM under the high mark": eviction runs only on alloc, so the last puts may leave HBM
    // above it once the copies are done (that wait used to time out when the copies were quick).
    await waitFor(() => [...values.keys()].every((key) => !meta.service.manager.query(key)?.moving), {
      timeoutMs: 60_000,
      message: 'demotions copied',
    });
    expect(await mediumOf('hbm-1')).toBe(MEDIUM.DRAM);
    expect(await mediumOf('hbm-0')).toBe(MEDIUM.HBM);
    const hbm = meta.service.manager.usage(MEDIUM.HBM);
    expect(hbm.usedBytes).toBeLessThanOrEqual(hbm.totalBytes);
    const inDram: string[] = [];
    for (const key of values.keys()) if ((await mediumOf(key)) === MEDIUM.DRAM) inDram.push(key);
    // Reading every value in put order also makes the DRAM LRU order the put order.
    for (const key of values.keys()) {
      expect(digest(await client.get(key)), key).toBe(digest(values.get(key) as Buffer));
    }

    // Now put more than DRAM holds (48 MiB): whatever phase 1 left there, eviction must run, and it takes
    // the least recently used DRAM object first. Eviction is synchronous in the alloc: no wait needed.
    for (let index = 0; index < 48; index++) await put(`dram-${index}`, 'dram');
    expect(await client.exists(inDram[0] as string)).toBe(false);
    let evicted = 0;
    for (const [key, value] of values) {
      if (!(await client.exists(key))) {
        evicted++;
        continue;
      }
      expect(digest(await client.get(key)), key).toBe(digest(value));
    }
    expect(evicted).toBeGreaterThan(0);
    expect(await client.exists('hbm-0')).toBe(true);
    const dram = meta.service.manager.usage(MEDIUM.DRAM);
    expect(dram.usedBytes).toBeLessThanOrEqual(dram.totalBytes);
  });
});
