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
  it('rebuilds objects from two ranks’ maps; a live object wins; sizes must agree', () => {
    const manager = new MetaManager();
    for (const rank of [0, 1]) manager.mount(rank, MEDIUM.DRAM, 1024 * KiB);
    manager.alloc('live', { size: 4 * KiB, replicas: 1, preferredRank: 1 });
    const rank0: BlobRecord[] = [
      ['a', 10 * KiB, MEDIUM.DRAM, 0],
      ['b', 4 * KiB, MEDIUM.DRAM, 16 * KiB],
    ];
    expect(restoreRank(manager, 0, rank0, 0)).toEqual({ restored: 2, refused: 0 });
    const rank1: BlobRecord[] = [
      ['a', 10 * KiB, MEDIUM.DRAM, 64 * KiB], // second replica of a
      ['b', 8 * KiB, MEDIUM.DRAM, 128 * KiB], // size disagrees: refused
      ['live', 4 * KiB, MEDIUM.DRAM, 256 * KiB], // live object wins: refused
    ];
    expect(restoreRank(manager, 1, rank1, 0)).toEqual({ restored: 1, refused: 2 });
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
    expect(restoreRank(manager, 1, overlapping, 0)).toEqual({ restored: 0, refused: 1 });
    expect(manager.query('c')).toBeUndefined();
  });
});
