import {
  BLOB_ACTION,
  DATA_STATUS,
  DataPeer,
  MEDIUM,
  MemCacheClient,
  MetaRpcClient,
  MMC,
  RPC_OPCODE,
} from '@kvforge/memcache-hybrid';
import { type EtcdProcess, type ManagedProcess, startEtcd, startProcess, waitFor } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaMetaProcess, LOCAL_APP, type MetaProcess, RUN_MAIN, startHaMeta, startMeta } from './stack';

const KiB = 1024;
const SIZE = 256 * KiB;
type BlobTuple = [rank: number, medium: number, offset: number, size: number, epoch: number];

let etcd: EtcdProcess;
beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterAll(async () => {
  await etcd?.stop();
});

const rest = (meta: HaMetaProcess, path: string) =>
  fetch(`http://127.0.0.1:${meta.httpPort}${path}`).then((response) => response.text());
const viewOf = async (meta: HaMetaProcess) =>
  (JSON.parse(await rest(meta, '/leader')) as { view_version: number }).view_version;

describe('HA fencing: a write allocated by a former leader never lands over a range the new one handed out', () => {
  it('after kill -9 of the leader, a WRITE and a commit stamped with its view are refused; the new object stays intact', async () => {
    const key = `/test/fencing-${Date.now()}`;
    const metas = [await startHaMeta(etcd.endpoint, key, 2), await startHaMeta(etcd.endpoint, key, 2)];
    const processes: ManagedProcess[] = [];
    const closers: (() => unknown)[] = [];
    let standalone: MetaProcess | undefined;
    try {
      const leader = await waitFor(
        async () => {
          const roles = await Promise.all(metas.map((meta) => rest(meta, '/role').catch(() => '')));
          return roles.includes('leader') && roles.includes('standby')
            ? metas[roles.indexOf('leader')]
            : undefined;
        },
        { timeoutMs: 30_000, message: 'a leader and a standby' },
      );
      const heir = metas.find((meta) => meta !== leader) as HaMetaProcess;
      const metaUrl = metas.map((meta) => `tcp://127.0.0.1:${meta.rpcPort}`).join(',');
      processes.push(
        await startProcess({
          name: 'memcache-local-service rank 0',
          command: 'node',
          args: [
            ...RUN_MAIN,
            '--rank',
            '0',
            `--ock.mmc.meta_service_url=${metaUrl}`,
            '--ock.mmc.local_service.dram.size=16MB',
          ],
          cwd: LOCAL_APP,
          readyWhen: { check: async () => (await rest(leader, '/get_all_segments')).includes('rank-0-') },
          readyTimeoutMs: 60_000,
        }),
      );

      // A put on the old leader gets its space and view, then stalls before its data WRITE.
      const former = await MetaRpcClient.connect(`tcp://127.0.0.1:${leader.rpcPort}`);
      closers.push(() => former.close());
      const [allocated, oldBlobs, oldView] = (await former.alloc('first', SIZE, 1, 0, MEDIUM.DRAM)) as [
        number,
        BlobTuple[],
        number,
      ];
      expect(allocated).toBe(MMC.OK);
      expect(oldView).toBeGreaterThan(0);
      expect(oldView).toBe(await viewOf(leader));
      const [, , oldOffset, , oldEpoch] = oldBlobs[0] as BlobTuple;
      expect(oldEpoch).toBeGreaterThanOrEqual(oldView * 2 ** 20);
      const [, , services] = (await former.call(RPC_OPCODE.LIST_LOCAL_SERVICES)) as [
        number,
        number,
        [number, string, number][],
      ];
      const [, dataHost, dataPort] = services.find(([rank]) => rank === 0) as [number, string, number];
      const stalledWriter = new DataPeer(dataHost, dataPort, { lanes: 1, sliceBytes: 1024 * KiB });
      closers.push(() => stalledWriter.close());

      await leader.process.kill('SIGKILL');
      // The local service learns the new view before it mounts, so once rank 0 is back the fence is up.
      await waitFor(
        async () =>
          (await rest(heir, '/role').catch(() => '')) === 'leader' &&
          (await rest(heir, '/get_all_segments')).includes('rank-0-'),
        { timeoutMs: 30_000, message: 'the standby leading with rank 0 re-mounted' },
      );
      const newView = await viewOf(heir);
      expect(newView).toBeGreaterThan(oldView);

      // The new leader never saw the first alloc: it hands the same range to a second object.
      const client = await MemCacheClient.connect({ metaUrl });
      closers.push(() => client.close());
      const second = Buffer.alloc(SIZE, 0x5a);
      second.write('second object', 0);
      await client.put('second', second, { medium: 'dram', preferredRanks: [0] });
      const current = await MetaRpcClient.connect(`tcp://127.0.0.1:${heir.rpcPort}`);
      closers.push(() => current.close());
      const [found, , secondBlobs] = (await current.call(RPC_OPCODE.GET_REPLICAS, 'second')) as [
        number,
        number,
        BlobTuple[],
      ];
      expect(found).toBe(MMC.OK);
      await current.updateState('second', 0, MEDIUM.DRAM, BLOB_ACTION.READ_FINISH);
      expect((secondBlobs[0] as BlobTuple)[2]).toBe(oldOffset);

      // The stalled WRITE arrives now, stamped with the old leader's epoch: refused, nothing written.
      const late = await stalledWriter
        .write(MEDIUM.DRAM, oldOffset, Buffer.alloc(SIZE, 0xee), oldEpoch)
        .catch((error: unknown) => error);
      expect(late).toMatchObject({ code: 'MMC_ERR_DATA_TRANSFER', status: DATA_STATUS.STALE_VIEW });
      expect((await client.get('second')).equals(second)).toBe(true);

      // A commit stamped with the old epoch is refused too (it could otherwise commit a same-key alloc).
      const [third, thirdBlobs] = (await current.alloc('third', SIZE, 1, 0, MEDIUM.DRAM)) as [
        number,
        BlobTuple[],
      ];
      expect(third).toBe(MMC.OK);
      const newEpoch = (thirdBlobs[0] as BlobTuple)[4];
      expect(newEpoch).toBeGreaterThanOrEqual(newView * 2 ** 20);
      expect(
        await current.call(RPC_OPCODE.UPDATE_STATE, [
          'third',
          0,
          MEDIUM.DRAM,
          BLOB_ACTION.WRITE_OK,
          oldEpoch,
        ]),
      ).toEqual([MMC.STALE_VIEW]);
      expect(await client.exists('third')).toBe(false);
      expect(
        await current.call(RPC_OPCODE.UPDATE_STATE, [
          'third',
          0,
          MEDIUM.DRAM,
          BLOB_ACTION.WRITE_OK,
          newEpoch,
        ]),
      ).toEqual([MMC.OK]);

      // The client's side: a meta service of an older view (a standalone one, view 0, here pointed at the
      // same local service) hands out the second object's range; the put fails as a stale view, and the
      // key is left absent, so a retry on the leader is safe.
      standalone = await startMeta();
      const registrar = await MetaRpcClient.connect(standalone.metaUrl);
      closers.push(() => registrar.close());
      expect(
        (await registrar.mountLocal(0, dataHost, dataPort, [[MEDIUM.DRAM, 16 * 1024 * KiB, null]]))[0],
      ).toBe(MMC.OK);
      const [, probe] = (await registrar.alloc('probe', SIZE, 1, 0, MEDIUM.DRAM)) as [number, BlobTuple[]];
      expect((probe[0] as BlobTuple)[2]).toBe(oldOffset);
      await registrar.remove('probe');
      const formerClient = await MemCacheClient.connect({ metaUrl: standalone.metaUrl });
      closers.push(() => formerClient.close());
      await expect(
        formerClient.put('stale-put', Buffer.alloc(SIZE, 0xcc), { medium: 'dram' }),
      ).rejects.toMatchObject({ code: 'MMC_ERR_STALE_VIEW', result: MMC.STALE_VIEW });
      expect(await formerClient.exists('stale-put')).toBe(false);
      expect((await client.get('second')).equals(second)).toBe(true);
    } finally {
      for (const close of closers.reverse()) await close();
      await standalone?.process.stop();
      for (const process of processes) await process.stop();
      for (const meta of metas) await meta.process.stop();
    }
  }, 180_000);
});
