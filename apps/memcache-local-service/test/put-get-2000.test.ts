import { createHash } from 'node:crypto';
import { MEDIUM, MemCacheClient } from '@kvforge/memcache-hybrid';
import { type ManagedProcess, seededRandom } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetaProcess, startLocal, startMeta } from './stack';

const KiB = 1024;
const MiB = 1024 * KiB;
const OBJECTS = 2000;
/** The big end, one object each; everything else is 1 KiB..256 KiB, so the run moves about 0.5 GB. */
const LARGE = [1 * MiB, 3 * MiB + 1, 8 * MiB, 16 * MiB - 7, 32 * MiB, 64 * MiB];

interface Planned {
  key: string;
  size: number;
  replicas: number;
  medium: 'hbm' | 'dram';
  seed: number;
}

function plan(): Planned[] {
  const random = seededRandom(2000);
  return Array.from({ length: OBJECTS }, (_, index) => {
    const size =
      index < LARGE.length
        ? (LARGE[index] as number)
        : index === LARGE.length
          ? KiB
          : Math.floor(KiB * 256 ** random());
    const replicas = index % 2 === 0 ? 2 : 1;
    const medium = size <= 64 * KiB && index % 4 === 1 ? 'hbm' : 'dram';
    return { key: `model-a/layer-${index % 61}/block-${index}`, size, replicas, medium, seed: index + 1 };
  });
}

/** The value is a function of its seed, so nothing but the digest is kept between put and get. */
function valueFor(planned: Planned): Buffer {
  const random = seededRandom(planned.seed);
  const value = Buffer.allocUnsafe(planned.size);
  let at = 0;
  for (; at + 4 <= value.length; at += 4) value.writeUInt32LE(Math.floor(random() * 2 ** 32), at);
  for (; at < value.length; at++) value[at] = Math.floor(random() * 256);
  return value;
}
const digest = (value: Buffer) => createHash('sha256').update(value).digest('hex');

async function inParallel<T>(
  items: readonly T[],
  lanes: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < items.length) await run(items[next++] as T);
    }),
  );
}

describe('2 000 objects from 1 KiB to 64 MiB through a meta service and two local services (real processes)', () => {
  let meta: MetaProcess;
  const locals: ManagedProcess[] = [];
  let client: MemCacheClient;

  beforeAll(async () => {
    meta = await startMeta();
    for (const rank of [0, 1]) {
      locals.push(
        await startLocal(meta, rank, [
          '--ock.mmc.local_service.dram.size=384MB',
          '--ock.mmc.local_service.hbm.size=64MB',
          '--ock.mmc.log_level=warn',
        ]),
      );
    }
    client = await MemCacheClient.connect({ metaUrl: meta.metaUrl, sharedMemory: false });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    for (const local of locals) await local.stop();
    await meta?.process.stop();
  });

  it('returns identical bytes, /query_key shows the ranks and media, segments report the real bytes', async () => {
    const objects = plan();
    const digests = new Map<string, string>();
    await inParallel(objects, 8, async (planned) => {
      const value = valueFor(planned);
      digests.set(planned.key, digest(value));
      await client.put(planned.key, value, { replicas: planned.replicas, medium: planned.medium });
    });
    await inParallel(objects, 8, async (planned) => {
      expect(digest(await client.get(planned.key)), planned.key).toBe(digests.get(planned.key));
    });

    let expectedBytes = 0;
    for (const [index, planned] of objects.entries()) {
      expectedBytes += Math.ceil(planned.size / 4096) * 4096 * planned.replicas;
      if (index % 50 !== 0 && index >= LARGE.length) continue;
      const response = await fetch(`${meta.rest}/query_key?key=${encodeURIComponent(planned.key)}`);
      const info = (await response.json()) as {
        size: number;
        numBlobs: number;
        blobs: { rank: number; medium: string }[];
      };
      expect(info.size).toBe(planned.size);
      expect(info.numBlobs).toBe(planned.replicas);
      expect(new Set(info.blobs.map((blob) => blob.rank)).size).toBe(planned.replicas);
      expect(info.blobs.every((blob) => blob.medium === planned.medium.toUpperCase())).toBe(true);
    }

    let used = 0;
    for (const name of ['rank-0-hbm', 'rank-1-hbm', 'rank-0-dram', 'rank-1-dram']) {
      const segment = (await (await fetch(`${meta.rest}/query_segment?segment=${name}`)).json()) as {
        used_bytes: number;
        total_bytes: number;
      };
      expect(segment.total_bytes).toBe(name.endsWith('hbm') ? 64 * MiB : 384 * MiB);
      used += segment.used_bytes;
    }
    expect(used).toBe(expectedBytes);
    expect((await client.query(objects[0]?.key as string))?.blobs.map((blob) => blob.medium)).toEqual([
      MEDIUM.DRAM,
      MEDIUM.DRAM,
    ]);
  });
});
