import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '@kvforge/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpillingSpool, type SpillingSpoolOptions, type SpoolCodec, SpoolFullError } from './spilling-spool';

interface Item {
  id: number;
  data: Buffer;
}

const MiB = 1024 * 1024;

const codec: SpoolCodec<Item> = {
  size: (item) => item.data.length + 64,
  encode: (item) => {
    const bytes = Buffer.allocUnsafe(4 + item.data.length);
    bytes.writeUInt32LE(item.id, 0);
    item.data.copy(bytes, 4);
    return bytes;
  },
  decode: (bytes) => ({ id: bytes.readUInt32LE(0), data: bytes.subarray(4) }),
};

/** Content derived from the id, so every item read back can be checked byte for byte. */
function makeItem(id: number, length: number): Item {
  const data = Buffer.alloc(length, id % 251);
  if (length >= 4) data.writeUInt32LE(id, 0);
  if (length >= 8) data.writeUInt32LE((id ^ 0x5a5a5a5a) >>> 0, length - 4);
  return { id, data };
}

const fills = Array.from({ length: 251 }, (_, fill) => Buffer.alloc(5000, fill));

/** Plain checks and no allocation rather than expect() per field: this runs 200k times. */
function expectItem(item: Item | undefined, id: number, length: number): void {
  if (item?.id !== id) expect.fail(`expected item ${id}, got ${item?.id}`);
  const { data } = item;
  const intact =
    length < 8 || length > 5000
      ? data.equals(makeItem(id, length).data)
      : data.length === length &&
        data.readUInt32LE(0) === id &&
        data.readUInt32LE(length - 4) === (id ^ 0x5a5a5a5a) >>> 0 &&
        data.compare(fills[id % 251] ?? data, 0, length - 8, 4, length - 4) === 0;
  if (!intact) expect.fail(`item ${id} has the wrong content`);
}

let base: string;
const spools: SpillingSpool<Item>[] = [];

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'spilling-spool-test-'));
});

afterEach(() => {
  for (const spool of spools.splice(0)) spool.close();
  rmSync(base, { recursive: true, force: true });
});

function createSpool(options: Partial<SpillingSpoolOptions> = {}): SpillingSpool<Item> {
  const spool = new SpillingSpool(codec, {
    directory: join(base, 'spill'),
    memoryBytes: MiB,
    maxDiskBytes: -1,
    segmentBytes: 4 * MiB,
    ...options,
  });
  spools.push(spool);
  return spool;
}

/** Segment files of the spool's own sub-directory (there is one per spool). */
function segmentFiles(): string[] {
  const directory = join(base, 'spill');
  if (!existsSync(directory)) return [];
  return readdirSync(directory).flatMap((spoolDirectory) =>
    readdirSync(join(directory, spoolDirectory)).map((file) => join(directory, spoolDirectory, file)),
  );
}

describe('SpillingSpool', () => {
  it('keeps FIFO order over 200k items of random sizes across memory and disk', () => {
    const spool = createSpool();
    const next = seededRandom(42);
    const lengths: number[] = [];
    let pushed = 0;
    let shifted = 0;
    let spills = 0;
    let wasSpilling = false;
    let maxMemory = 0;
    const total = 200_000;
    while (shifted < total) {
      // Phases of fast source / slow target and the reverse, so spilling starts and stops many times.
      const pushes = pushed < total ? Math.floor(next() * 3000) : 0;
      for (let i = 0; i < pushes && pushed < total; i++) {
        const length = Math.floor(next() * 5001);
        lengths.push(length);
        spool.push(makeItem(pushed++, length));
        maxMemory = Math.max(maxMemory, spool.memoryBytes);
      }
      const spilling = spool.diskBytes > 0;
      if (spilling && !wasSpilling) spills++;
      wasSpilling = spilling;
      const shifts = Math.floor(next() * 3000);
      for (let i = 0; i < shifts && shifted < pushed; i++) {
        expectItem(spool.shift(), shifted, lengths[shifted] ?? -1);
        shifted++;
        maxMemory = Math.max(maxMemory, spool.memoryBytes);
      }
      expect(spool.length).toBe(pushed - shifted);
    }
    expect(spool.shift()).toBeUndefined();
    expect(spills).toBeGreaterThan(3);
    expect(maxMemory).toBeLessThanOrEqual(4 * MiB);
    expect(spool.diskBytes).toBe(0);
    expect(segmentFiles()).toEqual([]);
  });

  it('starts spilling past the budget and returns to memory mode once the backlog is read', () => {
    const spool = createSpool({ memoryBytes: 10_000, segmentBytes: 50_000 });
    for (let id = 0; id < 10; id++) spool.push(makeItem(id, 936)); // 1000 bytes each in memory
    expect(spool.diskBytes).toBe(0);
    expect(spool.memoryBytes).toBe(10_000);
    for (let id = 10; id < 1000; id++) spool.push(makeItem(id, 936));
    expect(spool.memoryBytes).toBe(10_000 + MiB); // items + the write block
    expect(spool.diskBytes).toBe(990 * 944); // u32 length + id + data per record
    expect(segmentFiles()).toHaveLength(19); // 53 records fill a 50 kB segment
    for (let id = 0; id < 500; id++) expectItem(spool.shift(), id, 936);
    expect(segmentFiles()).toHaveLength(10); // the 9 fully read ones are deleted at once
    for (let id = 500; id < 1000; id++) expectItem(spool.shift(), id, 936);
    expect(spool.length).toBe(0);
    expect(spool.diskBytes).toBe(0);
    expect(spool.memoryBytes).toBe(0);
    expect(segmentFiles()).toEqual([]);
    // Memory mode again: pushes under the budget stay off disk.
    for (let id = 1000; id < 1005; id++) spool.push(makeItem(id, 936));
    expect(spool.diskBytes).toBe(0);
    expect(spool.memoryBytes).toBe(5000);
    for (let id = 1000; id < 1005; id++) expectItem(spool.shift(), id, 936);
  });

  it('reads back records bigger than the block size and records spanning block boundaries', () => {
    const spool = createSpool({ memoryBytes: 0, segmentBytes: 2 * MiB });
    const lengths = [10, 3 * MiB + 7, 0, MiB - 8, MiB, 100, 5 * MiB, MiB - 4, 12];
    lengths.forEach((length, id) => {
      spool.push(makeItem(id, length));
    });
    lengths.forEach((length, id) => {
      expectItem(spool.shift(), id, length);
    });
    expect(spool.shift()).toBeUndefined();
    expect(segmentFiles()).toEqual([]);
  });

  it('throws SpoolFullError past maxDiskBytes and stays usable', () => {
    const spool = createSpool({ memoryBytes: 10_000, maxDiskBytes: 100_000, segmentBytes: 30_000 });
    let pushed = 0;
    expect(() => {
      for (;;) spool.push(makeItem(pushed++, 936));
    }).toThrow(SpoolFullError);
    pushed--; // the rejected item is not queued
    expect(spool.length).toBe(pushed);
    expect(spool.diskBytes).toBeLessThanOrEqual(100_000);
    for (let id = 0; id < pushed; id++) expectItem(spool.shift(), id, 936);
    expect(spool.shift()).toBeUndefined();
    spool.push(makeItem(7, 936));
    expectItem(spool.shift(), 7, 936);
  });

  it('close() removes its directory and is idempotent', () => {
    const spool = createSpool({ memoryBytes: 1000 });
    for (let id = 0; id < 100; id++) spool.push(makeItem(id, 500));
    expect(readdirSync(join(base, 'spill'))).toHaveLength(1);
    spool.close();
    spool.close();
    expect(readdirSync(join(base, 'spill'))).toEqual([]);
    expect(spool.length).toBe(0);
    expect(spool.shift()).toBeUndefined();
    expect(() => spool.push(makeItem(0, 1))).toThrow(/close/);
  });

  it('names the file and offset when a spill file is truncated', () => {
    const spool = createSpool({ memoryBytes: 0, segmentBytes: 10_000 });
    for (let id = 0; id < 30; id++) spool.push(makeItem(id, 996)); // 1004 bytes per record, 10 per file
    const [first] = segmentFiles().sort();
    expect(first && statSync(first).size).toBe(10_040);
    truncateSync(first ?? '', 5000);
    expect(() => spool.shift()).toThrow(`spill file ${first} is truncated at offset 5000`);
  });

  it('names the file and offset when a record length runs past the end of the file', () => {
    const spool = createSpool({ memoryBytes: 0, segmentBytes: 10_000 });
    for (let id = 0; id < 30; id++) spool.push(makeItem(id, 996));
    const [first] = segmentFiles().sort();
    writeFileSync(first ?? '', Buffer.from([0xff, 0xff, 0xff, 0x7f]), { flag: 'r+' });
    expect(() => spool.shift()).toThrow(`spill file ${first} is corrupted at offset 0`);
  });
});
