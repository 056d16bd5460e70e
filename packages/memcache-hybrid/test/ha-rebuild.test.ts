import { createHash, randomUUID } from 'node:crypto';
import { SILENT_LOGGER } from '@kvforge/runtime';
import { type EtcdProcess, seededRandom, startEtcd, waitFor } from '@kvforge/testing';
import type { FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalService,
  MemCacheClient,
  type MetaServiceServer,
  runMemcacheCli,
  startLocalService,
  startMetaServiceServer,
} from '../src/index';

const logger = { ...SILENT_LOGGER, fatal: () => undefined, trace: () => undefined, level: 'silent' };
const quietLogger = { ...logger, child: () => quietLogger } as unknown as FastifyBaseLogger;
const MiB = 1024 * 1024;
const digest = (value: Buffer) => createHash('sha256').update(value).digest('hex');

let etcd: EtcdProcess;
beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterAll(async () => {
  await etcd?.stop();
});

describe('HA metadata rebuild from the local services’ blob maps', () => {
  it('every committed object is readable with identical bytes on the new leader; removed ones stay gone', async () => {
    const ha = { etcdEndpoints: etcd.endpoints, leaseSeconds: 2, key: `/test/${randomUUID()}` };
    const metas: MetaServiceServer[] = [];
    const locals: LocalService[] = [];
    let client: MemCacheClient | undefined;
    try {
      for (let i = 0; i < 2; i++) {
        metas.push(
          await startMetaServiceServer({
            rpcUrl: 'tcp://127.0.0.1:0',
            restUrl: 'http://127.0.0.1:0',
            logger: quietLogger,
            ha,
          }),
        );
      }
      const leader = await waitFor(() => metas.find((meta) => meta.election?.isServing()), {
        timeoutMs: 30_000,
        message: 'a leader',
      });
      const standby = metas.find((meta) => meta !== leader) as MetaServiceServer;
      // The standby first: the list is followed to the leader.
      const metaUrl = [standby, leader].map((meta) => `tcp://127.0.0.1:${meta.rpc.port}`).join(',');
      locals.push(await startLocalService({ rank: 0, metaUrl, dramBytes: 32 * MiB, hbmBytes: 8 * MiB }));
      locals.push(await startLocalService({ rank: 1, metaUrl, dramBytes: 32 * MiB }));
      client = await MemCacheClient.connect({ metaUrl });

      const random = seededRandom(14);
      const stored = new Map<string, string>();
      for (let i = 0; i < 300; i++) {
        const value = Buffer.alloc(1 + Math.floor(random() * 64 * 1024), i % 251);
        value.writeUInt32LE(i, 0);
        const key = `layer-${i % 7}/block-${i}`;
        await client.put(key, value, { replicas: 1 + (i % 2), ...(i % 6 === 0 ? { medium: 'hbm' } : {}) });
        stored.set(key, digest(value));
      }
      const removed = [...stored.keys()].filter((_key, index) => index % 10 === 0);
      for (const key of removed) {
        expect(await client.remove(key)).toBe(true);
        stored.delete(key);
      }
      const replicasBefore = (await client.query('layer-1/block-1'))?.numBlobs;
      expect(replicasBefore).toBe(2);

      await leader.close();
      // The standby wins the lease, both local services re-mount with their blob maps.
      await waitFor(
        () => standby.election?.isServing() && standby.service.localServices.list().length === 2,
        { timeoutMs: 30_000, message: 'the standby leading with both local services re-mounted' },
      );
      expect(standby.service.getAllKeys().sort()).toEqual([...stored.keys()].sort());
      for (const [key, expected] of stored) expect(digest(await client.get(key)), key).toBe(expected);
      for (const key of removed)
        await expect(client.get(key)).rejects.toMatchObject({ code: 'MMC_ERR_NOT_FOUND' });
      expect((await client.query('layer-1/block-1'))?.numBlobs).toBe(2);
      // The CLI takes the same list and reaches the new leader.
      const out = {
        chunks: [] as Buffer[],
        write: (chunk: string | Uint8Array) => out.chunks.push(Buffer.from(chunk)),
      };
      const err = { text: '', write: (chunk: string | Uint8Array) => (err.text += String(chunk)) };
      expect(
        await runMemcacheCli(['--meta', metaUrl, 'get', 'layer-1/block-1'], { stdout: out, stderr: err }),
      ).toBe(0);
      expect(digest(Buffer.concat(out.chunks))).toBe(stored.get('layer-1/block-1'));

      // The rebuilt allocator knows the taken ranges: new puts never overwrite a restored object.
      for (let i = 0; i < 100; i++)
        await client.put(`after/${i}`, Buffer.alloc(48 * 1024, 7), { replicas: 2 });
      for (const [key, expected] of stored) expect(digest(await client.get(key)), key).toBe(expected);
    } finally {
      await client?.close();
      for (const local of locals) await local.close();
      for (const meta of metas) await meta.close();
    }
  }, 120_000);
});
