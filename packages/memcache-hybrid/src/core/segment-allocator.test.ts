import { describe, expect, it } from 'vitest';
import { SegmentAllocator } from './segment-allocator';

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
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
    const random = seeded(42);
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
});
