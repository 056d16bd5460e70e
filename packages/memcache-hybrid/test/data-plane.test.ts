import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SILENT_LOGGER } from '@kvforge/runtime';
import { makeTempDirectory, removeDirectory, seededRandom, waitFor } from '@kvforge/testing';
import type { FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalService,
  MEDIUM,
  MemCacheClient,
  MemCacheError,
  type MetaServiceServer,
  MMC,
  runMemcacheCli,
  startLocalService,
  startMetaServiceServer,
} from '../src/index';

const logger = { ...SILENT_LOGGER, fatal: () => undefined, trace: () => undefined, level: 'silent' };
const quietLogger = { ...logger, child: () => quietLogger } as unknown as FastifyBaseLogger;
const MiB = 1024 * 1024;

/** Seeded bytes: a failure replays with the same values. */
function bytes(random: () => number, size: number): Buffer {
  const value = Buffer.allocUnsafe(size);
  let at = 0;
  for (; at + 4 <= size; at += 4) value.writeUInt32LE(Math.floor(random() * 2 ** 32), at);
  for (; at < size; at++) value[at] = Math.floor(random() * 256);
  return value;
}
const digest = (value: Buffer) => createHash('sha256').update(value).digest('hex');

describe('data plane in one process: meta service, two local services (one on /dev/shm), clients', () => {
  let meta: MetaServiceServer;
  const locals: LocalService[] = [];
  let client: MemCacheClient;
  let socketsOnly: MemCacheClient;
  let metaUrl: string;
  let rest: string;
  const shmDirectory = makeTempDirectory('mmc-shm');

  // A rank-1 segment file of a process that is gone (a kill -9 leftover) and one of a live process.
  const deadPid = spawnSync('true').pid as number;
  const staleFile = join(shmDirectory, `kvforge-mmc-rank-1-dram-${deadPid}`);
  const liveFile = join(shmDirectory, `kvforge-mmc-rank-1-dram-${process.pid}-other`);

  beforeAll(async () => {
    writeFileSync(staleFile, 'stale');
    writeFileSync(liveFile, 'not ours to judge');
    meta = await startMetaServiceServer({
      rpcUrl: 'tcp://127.0.0.1:0',
      restUrl: 'http://127.0.0.1:0',
      logger: quietLogger,
    });
    metaUrl = `tcp://127.0.0.1:${meta.rpc.port}`;
    rest = `http://127.0.0.1:${meta.rest.port}`;
    locals.push(await startLocalService({ rank: 0, metaUrl, dramBytes: 64 * MiB, hbmBytes: 16 * MiB }));
    locals.push(
      await startLocalService({
        rank: 1,
        metaUrl,
        dramBytes: 64 * MiB,
        hbmBytes: 16 * MiB,
        sharedMemory: true,
        sharedMemoryDirectory: shmDirectory,
      }),
    );
    client = await MemCacheClient.connect({ metaUrl, sliceBytes: 256 * 1024 });
    socketsOnly = await MemCacheClient.connect({ metaUrl, sharedMemory: false });
  });

  afterAll(async () => {
    await client?.close();
    await socketsOnly?.close();
    for (const local of locals) await local.close();
    await meta?.close();
    removeDirectory(shmDirectory);
  });

  it('mounts both ranks with their real segment sizes and data addresses', async () => {
    const segments = await (await fetch(`${rest}/get_all_segments`)).text();
    expect(segments).toBe('rank-0-hbm\nrank-1-hbm\nrank-0-dram\nrank-1-dram\n');
    expect(meta.service.localServices.list().map((info) => [info.rank, info.port])).toEqual([
      [0, locals[0]?.data.port],
      [1, locals[1]?.data.port],
    ]);
    const shm = meta.service.localServices.get(1)?.segments.find((segment) => segment.medium === MEDIUM.DRAM);
    expect(shm?.sharedMemoryPath && existsSync(shm.sharedMemoryPath)).toBe(true);
    // Starting rank 1 removed the file its dead predecessor left; a name it cannot read as a pid stays.
    expect(existsSync(staleFile)).toBe(false);
    expect(existsSync(liveFile)).toBe(true);
  });

  it('put/get returns identical bytes over TCP and /dev/shm, for replicas 1 and 2, from both clients', async () => {
    const random = seededRandom(7);
    for (const [index, size] of [1, 4096, 100_000, 3 * MiB + 17].entries()) {
      for (const replicas of [1, 2]) {
        const key = `object-${index}-${replicas}`;
        const value = bytes(random, size);
        await client.put(key, value, { replicas, medium: 'dram' });
        expect(digest(await client.get(key))).toBe(digest(value));
        expect(digest(await socketsOnly.get(key))).toBe(digest(value));
        const info = await client.query(key);
        expect(info?.numBlobs).toBe(replicas);
        expect(new Set(info?.blobs.map((blob) => blob.rank)).size).toBe(replicas);
      }
    }
  });

  it('a duplicate put fails with -3006 and leaves the first value', async () => {
    await client.put('duplicate', Buffer.from('first'));
    const error = await client.put('duplicate', Buffer.from('second')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MemCacheError);
    expect((error as MemCacheError).result).toBe(MMC.DUPLICATED_OBJECT);
    expect((await client.get('duplicate')).toString()).toBe('first');
  });

  it('preferredRanks and medium place the replicas; getInto, exists, remove and a missing key', async () => {
    await client.put('placed', Buffer.from('hello hbm'), { preferredRanks: [1], medium: 'hbm' });
    expect((await client.query('placed'))?.blobs).toEqual([{ rank: 1, medium: MEDIUM.HBM }]);
    const target = Buffer.alloc(32);
    expect(await client.getInto('placed', target)).toBe(9);
    expect(target.subarray(0, 9).toString()).toBe('hello hbm');
    await expect(client.getInto('placed', Buffer.alloc(4))).rejects.toThrow('the value is 9 bytes');
    expect(await client.exists('placed')).toBe(true);
    expect(await client.remove('placed')).toBe(true);
    expect(await client.exists('placed')).toBe(false);
    expect(await client.remove('placed')).toBe(false);
    await expect(client.get('placed')).rejects.toMatchObject({ code: 'MMC_ERR_NOT_FOUND' });
  });

  it('batchPut/batchGet: one meta RPC each, per-item results (duplicate, missing)', async () => {
    const random = seededRandom(11);
    const items = Array.from({ length: 64 }, (_, index) => ({
      key: `batch-${index}`,
      value: bytes(random, 4096),
    }));
    expect(await client.batchPut(items, { replicas: 2 })).toEqual(items.map(() => MMC.OK));
    expect(await client.batchPut(items.slice(0, 2))).toEqual([MMC.DUPLICATED_OBJECT, MMC.DUPLICATED_OBJECT]);
    const read = await socketsOnly.batchGet([...items.map((item) => item.key), 'batch-missing']);
    expect(read.slice(0, 64).map((item) => item.value && digest(item.value))).toEqual(
      items.map((item) => digest(item.value)),
    );
    expect(read[64]).toEqual({ result: MMC.UNMATCHED_KEY });
    // The batch's one READ_FINISH RPC releases every read lease (an expired lease keeps its reader count).
    const readers = () =>
      items.reduce(
        (sum, item) =>
          sum +
          (meta.service.manager.query(item.key)?.blobs.reduce((count, blob) => count + blob.readers, 0) ?? 0),
        0,
      );
    await waitFor(() => readers() === 0, { timeoutMs: 30_000, message: 'every batch read lease released' });
  });

  it('the CLI draws a progress bar on a terminal for a big put and get, and none for a small one', async () => {
    const file = join(shmDirectory, 'big.bin');
    const value = bytes(seededRandom(5), 5 * MiB);
    writeFileSync(file, value);
    const terminal = {
      text: '',
      isTTY: true,
      write(chunk: string | Uint8Array) {
        this.text += String(chunk);
      },
    };
    const stdout = {
      chunks: [] as Buffer[],
      write(chunk: string | Uint8Array) {
        this.chunks.push(Buffer.from(chunk));
      },
    };
    const meta = ['--meta', metaUrl, '--no-shm'];
    expect(await runMemcacheCli([...meta, 'put', 'cli-big', file], { stdout, stderr: terminal })).toBe(0);
    expect(terminal.text).toContain('\rput cli-big [');
    expect(terminal.text).toContain('100%  5.0/5.0 MiB\n');
    terminal.text = '';
    expect(await runMemcacheCli([...meta, 'get', 'cli-big'], { stdout, stderr: terminal })).toBe(0);
    expect(terminal.text).toContain('100%  5.0/5.0 MiB\n');
    expect(digest(Buffer.concat(stdout.chunks))).toBe(digest(value));
    terminal.text = '';
    writeFileSync(file, 'small');
    expect(await runMemcacheCli([...meta, 'put', 'cli-small', file], { stdout, stderr: terminal })).toBe(0);
    expect(terminal.text).toBe('stored cli-small: 5 bytes, 1 replica\n');
  });

  it('the REST capacity endpoints report the real segment bytes', async () => {
    const segment = (await (await fetch(`${rest}/query_segment?segment=rank-1-dram`)).json()) as {
      total_bytes: number;
    };
    expect(segment.total_bytes).toBe(locals[1]?.segments.get(MEDIUM.DRAM)?.capacity);
  });

  it('a clean close unmounts the rank: its only-replica objects disappear, 2-replica ones still read', async () => {
    await client.put('only-on-0', Buffer.from('zero'), { preferredRanks: [0], medium: 'dram' });
    await client.put('on-both', Buffer.from('both'), { replicas: 2, medium: 'dram' });
    const closing = locals.shift() as LocalService;
    await closing.close();
    expect(meta.service.localServices.get(0)).toBeUndefined();
    expect(await client.exists('only-on-0')).toBe(false);
    expect((await client.get('on-both')).toString()).toBe('both');
    expect((await client.query('on-both'))?.blobs).toEqual([{ rank: 1, medium: MEDIUM.DRAM }]);
  });
});
