import { SILENT_LOGGER } from '@kvforge/runtime';
import { waitFor } from '@kvforge/testing';
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import {
  type BlobRecord,
  DEFAULT_RESTORE_OPTIONS,
  MEDIUM,
  MetaRpcClient,
  type MetaServiceServer,
  MMC,
  RPC_OPCODE,
  startMetaServiceServer,
} from '../src/index';

const logger = { ...SILENT_LOGGER, fatal: () => undefined, trace: () => undefined, level: 'silent' };
const quietLogger = { ...logger, child: () => quietLogger } as unknown as FastifyBaseLogger;
const KiB = 1024;
const RECORDS = 100_000;

describe('a large blob-map rebuild (MOUNT_LOCAL with 100 000 records) runs in chunks', () => {
  it('the meta service answers /health, PINGs, gets and allocs half-way; allocs never overlap the map; the mount answers when done', async () => {
    // The first chunk boundary waits for the test; every later one is the default (setImmediate).
    let open: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (open = resolve));
    let paused = false;
    const yieldTurn = async () => {
      if (!paused) {
        paused = true;
        await opened;
      }
      await DEFAULT_RESTORE_OPTIONS.yieldTurn();
    };
    let server: MetaServiceServer | undefined;
    const clients: MetaRpcClient[] = [];
    try {
      server = await startMetaServiceServer({
        rpcUrl: 'tcp://127.0.0.1:0',
        restUrl: 'http://127.0.0.1:0',
        logger: quietLogger,
        service: { restore: { yieldTurn } },
      });
      const url = `tcp://127.0.0.1:${server.rpc.port}`;
      const local = await MetaRpcClient.connect(url);
      const other = await MetaRpcClient.connect(url);
      clients.push(local, other);
      // Every other 4 KiB block of the first 800 MB holds a blob; allocations fit only in the gaps.
      const records: BlobRecord[] = Array.from({ length: RECORDS }, (_, index) => [
        `k-${index}`,
        4 * KiB,
        MEDIUM.DRAM,
        index * 8 * KiB,
      ]);
      let mounted: unknown[] | undefined;
      const mounting = local
        .mountLocal(0, '127.0.0.1', 1, [[MEDIUM.DRAM, 1024 * 1024 * KiB, null]], records)
        .then((reply) => (mounted = reply));
      const service = server.service;
      await waitFor(() => paused && service.restoringRanks.has(0), {
        timeoutMs: 30_000,
        message: 'the rebuild paused after its first chunk',
      });

      const health = await fetch(`http://127.0.0.1:${server.rest.port}/health`);
      expect(health.status).toBe(200);
      expect(await other.ping()).toEqual([MMC.OK, 0]);
      // The mounting connection is answered too (replies matched by id, the mount's comes later).
      expect(await local.ping()).toEqual([MMC.OK, 0]);
      expect((await other.call(RPC_OPCODE.GET_REPLICAS, 'k-0'))[0]).toBe(MMC.OK);
      const taken = new Set(records.map((record) => record[3]));
      for (let index = 0; index < 50; index++) {
        const [result, blobs] = (await other.alloc(`new-${index}`, 4 * KiB, 1, 0, MEDIUM.DRAM)) as [
          number,
          [number, number, number, number][],
        ];
        expect(result).toBe(MMC.OK);
        expect(taken.has((blobs[0] as [number, number, number, number])[2])).toBe(false);
      }
      expect(service.manager.keyCount).toBeLessThan(RECORDS);
      expect(mounted).toBeUndefined();

      open();
      expect(await mounting).toEqual([MMC.OK, 0]);
      expect(service.restoringRanks.has(0)).toBe(false);
      expect(service.manager.keyCount).toBe(RECORDS + 50);
      expect((await other.call(RPC_OPCODE.GET_REPLICAS, `k-${RECORDS - 1}`))[0]).toBe(MMC.OK);
    } finally {
      open();
      for (const client of clients) await client.close();
      await server?.close();
    }
  }, 120_000);
});
