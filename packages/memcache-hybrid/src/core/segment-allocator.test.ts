import { seededRandom } from '@kvforge/testing';
import { describe, expect, it } from 'vitest';
import { SegmentAllocator } from './segment-allocator';

/** The straightforward best-fit (linear scan over offset-ordered free ranges) as the oracle. */
class LinearBestFit {
  private ranges: [number, number][];
  private readonly allocated = new Map<number, number>();
  constructor(capacity: number) {
    this.ranges = [[0, capacity]];
  }
  allocate(size: number): number {
    const aligned = Math.ceil(Math.max(size, 1) / 4096) * 4096;
    let best = -1;
    for (let index = 0; index < this.ranges.length; index++) {
      const [, rangeSize] = this.ranges[index] as [number, number];
      if (rangeSize >= aligned && (best < 0 || rangeSize < (this.ranges[best] as [number, number])[1]))
        best = index;
    }
    if (best < 0) return -1;
    const [offset, rangeSize] = this.ranges[best] as [number, number];
    if (rangeSize === aligned) this.ranges.splice(best, 1);
    else this.ranges[best] = [offset + aligned, rangeSize - aligned];
    this.allocated.set(offset, aligned);
    return offset;
  }
  free(offset: number): void {
    const size = this.allocated.get(offset) as number;
    this.allocated.delete(offset);
    this.ranges.push([offset, size]);
    this.ranges.sort((left, right) => left[0] - right[0]);
    const merged: [number, number][] = [];
    for (const range of this.ranges) {
      const last = merged[merged.length - 1];
      if (last !== undefined && last[0] + last[1] === range[0]) last[1] += range[1];
      else merged.push([range[0], range[1]]);
    }
    this.ranges = merged;
  }
}

describe('SegmentAllocator', () => {
  it('aligns to 4 KiB and picks the best fit', () => {
    const allocator = new SegmentAllocator(64 * 1024);
    const first = allocator.allocate(1);
    const second = allocator.allocate(8192);
    const third = allocator.allocate(4096);
    expect([first, second, third]).toEqual([0, 4096, 12288]);
    expect(allocator.usedBytes).toBe(16384);
    allocator.free(second); // an 8 KiB hole at 4096
    expect(allocator.allocate(4000)).toBe(4096); // smallest range that fits, not the tail
  });

  it('rejects double and unknown frees', () => {
    const allocator = new SegmentAllocator(16384);
    const offset = allocator.allocate(100);
    expect(allocator.free(offset)).toBe(true);
    expect(allocator.free(offset)).toBe(false);
    expect(allocator.free(12345)).toBe(false);
  });

  it('random alloc/free never overlaps, never exceeds capacity, and coalesces back to one range', () => {
    const random = seededRandom(42);
    const capacity = 4 * 1024 * 1024;
    const allocator = new SegmentAllocator(capacity);
    const live: number[] = [];
    for (let step = 0; step < 20_000; step++) {
      if (live.length > 0 && random() < 0.45) {
        const index = Math.floor(random() * live.length);
        expect(allocator.free(live[index] as number)).toBe(true);
        live.splice(index, 1);
      } else {
        const offset = allocator.allocate(1 + Math.floor(random() * 64 * 1024));
        if (offset >= 0) live.push(offset);
      }
      if (step % 1000 === 0) {
        const ranges = allocator.allocatedRanges().sort((left, right) => left[0] - right[0]);
        let used = 0;
        for (let index = 0; index < ranges.length; index++) {
          const [offset, size] = ranges[index] as [number, number];
          used += size;
          expect(offset + size).toBeLessThanOrEqual(capacity);
          if (index > 0) {
            const [previousOffset, previousSize] = ranges[index - 1] as [number, number];
            expect(previousOffset + previousSize).toBeLessThanOrEqual(offset);
          }
        }
        expect(used).toBe(allocator.usedBytes);
        expect(used).toBeLessThanOrEqual(capacity);
      }
    }
    for (const offset of live) allocator.free(offset);
    expect(allocator.usedBytes).toBe(0);
    expect(allocator.freeRanges()).toEqual([[0, capacity]]);
  });
  it('returns the same offsets as a linear best-fit scan (smallest fit, lowest offset on ties)', () => {
    const random = seededRandom(7);
    const capacity = 8 * 1024 * 1024;
    const allocator = new SegmentAllocator(capacity);
    const oracle = new LinearBestFit(capacity);
    const live: number[] = [];
    for (let step = 0; step < 20_000; step++) {
      if (live.length > 0 && random() < 0.48) {
        const index = Math.floor(random() * live.length);
        const offset = live[index] as number;
        allocator.free(offset);
        oracle.free(offset);
        live.splice(index, 1);
      } else {
        // Few distinct sizes, like KV blocks, so ties between equal free ranges are frequent.
        const size = (1 + Math.floor(random() * 4)) * 4096 - Math.floor(random() * 100);
        const offset = allocator.allocate(size);
        expect(offset).toBe(oracle.allocate(size));
        if (offset >= 0) live.push(offset);
      }
    }
    for (const offset of live) allocator.free(offset);
    expect(allocator.freeRanges()).toEqual([[0, capacity]]);
    expect(allocator.freeRangeCount).toBe(1);
  });

  it('stays correct with many fragments (every other block freed, then refilled)', () => {
    const allocator = new SegmentAllocator(4096 * 10_000);
    const offsets = Array.from({ length: 10_000 }, () => allocator.allocate(4096));
    expect(allocator.allocate(1)).toBe(-1);
    for (let index = 0; index < offsets.length; index += 2) allocator.free(offsets[index] as number);
    expect(allocator.freeRangeCount).toBe(5_000);
    expect(allocator.allocate(8192)).toBe(-1); // 20 MiB free but no two adjacent blocks
    const refilled = Array.from({ length: 5_000 }, () => allocator.allocate(4096));
    expect(refilled).toEqual(offsets.filter((_, index) => index % 2 === 0)); // lowest offset first
    expect(allocator.usedBytes).toBe(allocator.capacity);
  });
});
