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
    await waitFor(async () => (await mediumOf('hbm-1')) === MEDIUM.DRAM, {
      timeoutMs: 15_000,
      message: 'hbm-1 demoted',
    });
    // Demotions finish asynchronously (the tick dispatches the copies): wait until HBM is back under its high mark.
    await waitFor(
      () => {
        const usage = meta.service.manager.usage(MEDIUM.HBM);
        return usage.usedBytes * 100 <= usage.totalBytes * 90;
      },
      { timeoutMs: 15_000, message: 'HBM below the high mark' },
    );
    expect(await mediumOf('hbm-0')).toBe(MEDIUM.HBM);
    const demoted: string[] = [];
    for (const key of values.keys()) if ((await mediumOf(key)) === MEDIUM.DRAM) demoted.push(key);
    expect(demoted.length).toBeGreaterThan(0);
    for (const key of values.keys()) {
      expect(digest(await client.get(key)), key).toBe(digest(values.get(key) as Buffer));
    }

    // Now fill DRAM past its high mark: the oldest DRAM objects are evicted (gone), the rest read intact.
    for (let index = 0; index < 40; index++) await put(`dram-${index}`, 'dram');
    await waitFor(async () => !(await client.exists(demoted[0] as string)), {
      timeoutMs: 15_000,
      message: 'DRAM eviction',
    });
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
