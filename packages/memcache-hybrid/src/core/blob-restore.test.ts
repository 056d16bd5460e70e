import { describe, expect, it } from 'vitest';
import { type BlobRecord, restoreRank } from './blob-restore';
import { MEDIUM, segmentName } from './codes';
import { MetaManager } from './meta-manager';
import { SegmentAllocator } from './segment-allocator';

const KiB = 1024;

describe('SegmentAllocator.withRanges', () => {
  it('takes the given ranges, frees the gaps, and refuses overlapping or out-of-bounds ones', () => {
    const { allocator, rejected } = SegmentAllocator.withRanges(64 * KiB, [
      [8 * KiB, 4 * KiB],
      [0, 5 * KiB], // 8 KiB aligned: ends exactly where the first starts
      [9 * KiB + 4 * KiB, 4 * KiB], // unaligned offset
      [8 * KiB, 4 * KiB], // overlaps the first
      [60 * KiB, 8 * KiB], // past the end
      [32 * KiB, 4 * KiB],
    ]);
    expect(rejected.sort()).toEqual([2, 3, 4]);
    expect(allocator.usedBytes).toBe(16 * KiB);
    expect(allocator.freeRanges()).toEqual([
      [12 * KiB, 20 * KiB],
      [36 * KiB, 28 * KiB],
    ]);
    // Best fit still works on the rebuilt state and frees coalesce back to one range.
    expect(allocator.allocate(20 * KiB)).toBe(12 * KiB);
    for (const offset of [0, 8 * KiB, 12 * KiB, 32 * KiB]) expect(allocator.free(offset)).toBe(true);
    expect(allocator.freeRanges()).toEqual([[0, 64 * KiB]]);
  });
});

describe('restoreRank', () => {
  it('rebuilds objects from two ranks’ maps; a live object wins; sizes must agree', async () => {
    const manager = new MetaManager();
    for (const rank of [0, 1]) manager.mount(rank, MEDIUM.DRAM, 1024 * KiB);
    manager.alloc('live', { size: 4 * KiB, replicas: 1, preferredRank: 1 });
    const rank0: BlobRecord[] = [
      ['a', 10 * KiB, MEDIUM.DRAM, 0],
      ['b', 4 * KiB, MEDIUM.DRAM, 16 * KiB],
    ];
    expect(await restoreRank(manager, 0, rank0, 0)).toEqual({ restored: 2, refused: 0 });
    const rank1: BlobRecord[] = [
      ['a', 10 * KiB, MEDIUM.DRAM, 64 * KiB], // second replica of a
      ['b', 8 * KiB, MEDIUM.DRAM, 128 * KiB], // size disagrees: refused
      ['live', 4 * KiB, MEDIUM.DRAM, 256 * KiB], // live object wins: refused
    ];
    expect(await restoreRank(manager, 1, rank1, 0)).toEqual({ restored: 1, refused: 2 });
    expect(manager.query('a')?.blobs.map((blob) => [blob.rank, blob.offset])).toEqual([
      [0, 0],
      [1, 64 * KiB],
    ]);
    expect(manager.get('b').result).toBe(0);
    expect(manager.getSegment(segmentName(0, MEDIUM.DRAM))?.allocator.usedBytes).toBe(16 * KiB);
    // The live object's range on rank 1 stays taken beside the restored blob.
    expect(manager.getSegment(segmentName(1, MEDIUM.DRAM))?.allocator.usedBytes).toBe(16 * KiB);
    // A record overlapping a range already taken is refused.
    const overlapping: BlobRecord[] = [['c', 4 * KiB, MEDIUM.DRAM, 64 * KiB]];
    expect(await restoreRank(manager, 1, overlapping, 0)).toEqual({ restored: 0, refused: 1 });
    expect(manager.query('c')).toBeUndefined();
  });
});

/** A yield the test opens by hand: the restore stops at its first chunk boundary until `open()`. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let paused = false;
  return {
    yieldTurn: async () => {
      paused = true;
      await opened;
      paused = false;
    },
    get paused() {
      return paused;
    },
    open: () => open(),
  };
}

describe('restoreRank in chunks', () => {
  const records: BlobRecord[] = Array.from({ length: 1000 }, (_, index) => [
    `k-${index}`,
    4 * KiB,
    MEDIUM.DRAM,
    index * 8 * KiB, // every other 4 KiB block, so allocations could land between them
  ]);

  it('adopts chunk by chunk; allocations half-way never overlap a pending record; a live put of a pending key wins', async () => {
    const manager = new MetaManager();
    manager.mount(0, MEDIUM.DRAM, 16 * 1024 * KiB);
    const turns = gate();
    const restoring = restoreRank(manager, 0, records, 0, { chunkRecords: 100, yieldTurn: turns.yieldTurn });
    expect(turns.paused).toBe(true);
    expect(manager.keyCount).toBe(100);
    // Half-way: 200 new objects on the same segment, and a live put of a key whose record is pending.
    const recordRanges = new Set(records.map((record) => record[3]));
    for (let index = 0; index < 200; index++) {
      const { result, object } = manager.alloc(`new-${index}`, { size: 4 * KiB, preferredRank: 0 });
      expect(result).toBe(0);
      expect(recordRanges.has(object?.blobs[0]?.offset as number)).toBe(false);
    }
    expect(manager.alloc('k-999', { size: 4 * KiB }).result).toBe(0);
    const liveOffset = manager.query('k-999')?.blobs[0]?.offset;
    turns.open();
    expect(await restoring).toEqual({ restored: 999, refused: 1 });
    expect(manager.query('k-999')?.blobs.map((blob) => blob.offset)).toEqual([liveOffset]);
    expect(manager.query('k-500')?.blobs.map((blob) => blob.offset)).toEqual([500 * 8 * KiB]);
    // 999 restored + 200 new + the live k-999, and the refused record's range was given back.
    const segment = manager.getSegment(segmentName(0, MEDIUM.DRAM));
    expect(segment?.allocator.usedBytes).toBe((999 + 201) * 4 * KiB);
    expect(segment?.allocator.allocationCount).toBe(999 + 201);
  });

  it('stops when the rank is cleared half-way (its local service died)', async () => {
    const manager = new MetaManager();
    manager.mount(0, MEDIUM.DRAM, 16 * 1024 * KiB);
    const turns = gate();
    const restoring = restoreRank(manager, 0, records, 0, { chunkRecords: 100, yieldTurn: turns.yieldTurn });
    expect(manager.keyCount).toBe(100);
    manager.unmount(0, MEDIUM.DRAM);
    expect(manager.keyCount).toBe(0);
    turns.open();
    expect(await restoring).toEqual({ restored: 100, refused: 900 });
    expect(manager.keyCount).toBe(0);
  });
});
