import { waitFor } from '@kvforge/testing';
import { describe, expect, it } from 'vitest';
import {
  BLOB_ACTION,
  DATA_STATUS,
  DataPeer,
  type LocalService,
  MEDIUM,
  MemCacheClient,
  MetaRpcClient,
  MetaRpcServer,
  MetaService,
  MMC,
  RPC_OPCODE,
  startLocalService,
} from '../src/index';

const KiB = 1024;
const SIZE = 64 * KiB;
type AllocTuple = [rank: number, medium: number, offset: number, size: number, epoch: number];

describe('write epochs per mount: a re-mount on the same leader fences writes allocated before it', () => {
  it('after the link drops and rank 0 re-mounts, a WRITE and a commit stamped with the old epoch are refused', async () => {
    const service = new MetaService();
    const rpc = new MetaRpcServer({ service });
    const closers: (() => unknown)[] = [];
    let local: LocalService | undefined;
    try {
      const url = `tcp://127.0.0.1:${(await rpc.listen(0)).port}`;
      // A list of meta URLs (here the same one twice) makes the local service re-mount when its link drops.
      local = await startLocalService({ rank: 0, metaUrl: `${url},${url}`, dramBytes: 8 * 1024 * KiB });
      const before = await MetaRpcClient.connect(url);
      closers.push(() => before.close());
      const [allocated, blobs] = (await before.alloc('first', SIZE, 1, 0, MEDIUM.DRAM)) as [
        number,
        AllocTuple[],
      ];
      expect(allocated).toBe(MMC.OK);
      const [, , offset, , oldEpoch] = blobs[0] as AllocTuple;
      expect(oldEpoch).toBe(local.view);
      const stalledWriter = new DataPeer('127.0.0.1', local.data.port, { lanes: 1, sliceBytes: 1024 * KiB });
      closers.push(() => stalledWriter.close());

      // The same leader drops every connection (a cut path, not a failover): rank 0 re-mounts, new epoch.
      rpc.dropConnections();
      const newEpoch = await waitFor(
        () => {
          const epoch = service.localServices.get(0)?.epoch ?? 0;
          return epoch > oldEpoch && local?.view === epoch ? epoch : undefined;
        },
        { timeoutMs: 30_000, message: 'rank 0 re-mounted with a new write epoch' },
      );

      const client = await MemCacheClient.connect({ metaUrl: url });
      closers.push(() => client.close());
      const second = Buffer.alloc(SIZE, 0x3c);
      await client.put('second', second, { medium: 'dram' });
      const after = await MetaRpcClient.connect(url);
      closers.push(() => after.close());
      const [, , replicas] = (await after.call(RPC_OPCODE.GET_REPLICAS, 'second')) as [
        number,
        number,
        AllocTuple[],
      ];
      await after.updateState('second', 0, MEDIUM.DRAM, BLOB_ACTION.READ_FINISH);
      expect((replicas[0] as AllocTuple)[2]).toBe(offset);

      const late = await stalledWriter
        .write(MEDIUM.DRAM, offset, Buffer.alloc(SIZE, 0xee), oldEpoch)
        .catch((error: unknown) => error);
      expect(late).toMatchObject({ status: DATA_STATUS.STALE_VIEW });
      expect((await client.get('second')).equals(second)).toBe(true);

      const [, thirdBlobs] = (await after.alloc('third', SIZE, 1, 0, MEDIUM.DRAM)) as [number, AllocTuple[]];
      expect((thirdBlobs[0] as AllocTuple)[4]).toBe(newEpoch);
      expect(
        await after.call(RPC_OPCODE.UPDATE_STATE, ['third', 0, MEDIUM.DRAM, BLOB_ACTION.WRITE_OK, oldEpoch]),
      ).toEqual([MMC.STALE_VIEW]);
      expect(await client.exists('third')).toBe(false);
      expect(
        await after.call(RPC_OPCODE.UPDATE_STATE, ['third', 0, MEDIUM.DRAM, BLOB_ACTION.WRITE_OK, newEpoch]),
      ).toEqual([MMC.OK]);
    } finally {
      for (const close of closers.reverse()) await close();
      await local?.close();
      await rpc.close();
    }
  }, 60_000);
});
