import { ALLOCATION_ALIGNMENT } from './codes';

export function alignUp(size: number): number {
  return Math.ceil(size / ALLOCATION_ALIGNMENT) * ALLOCATION_ALIGNMENT;
}

/**
 * Best-fit range allocator of one segment (the original's rule: smallest free range that fits, lowest
 * offset on ties). Free ranges are kept sorted by offset, so a free finds and merges both neighbours by
 * binary search. Alloc scans the free ranges, which coalescing keeps few; it stops at an exact fit.
 * Sizes are aligned up to 4 KiB; `usedBytes` counts aligned bytes.
 */
export class SegmentAllocator {
  readonly capacity: number;
  usedBytes = 0;
  // Free ranges sorted by offset.
  private freeOffsets: number[] = [];
  private freeSizes: number[] = [];
  private readonly allocated = new Map<number, number>(); // offset → aligned size

  constructor(capacity: number) {
    this.capacity = Math.floor(capacity / ALLOCATION_ALIGNMENT) * ALLOCATION_ALIGNMENT;
    if (this.capacity > 0) {
      this.freeOffsets.push(0);
      this.freeSizes.push(this.capacity);
    }
  }

  get freeBytes(): number {
    return this.capacity - this.usedBytes;
  }

  get allocationCount(): number {
    return this.allocated.size;
  }

  get freeRangeCount(): number {
    return this.freeOffsets.length;
  }

  /** The offset of a new range of at least `size` bytes, or -1 when no free range fits. */
  allocate(size: number): number {
    const aligned = alignUp(Math.max(size, 1));
    let best = -1;
    let bestSize = Number.POSITIVE_INFINITY;
    const sizes = this.freeSizes;
    for (let index = 0; index < sizes.length; index++) {
      const candidate = sizes[index] as number;
      if (candidate >= aligned && candidate < bestSize) {
        best = index;
        bestSize = candidate;
        if (candidate === aligned) break;
      }
    }
    if (best < 0) return -1;
    const offset = this.freeOffsets[best] as number;
    if (bestSize === aligned) {
      this.freeOffsets.splice(best, 1);
      this.freeSizes.splice(best, 1);
    } else {
      this.freeOffsets[best] = offset + aligned;
      this.freeSizes[best] = bestSize - aligned;
    }
    this.allocated.set(offset, aligned);
    this.usedBytes += aligned;
    return offset;
  }

  /** Frees a range returned by allocate; false on a double or unknown free. */
  free(offset: number): boolean {
    const size = this.allocated.get(offset);
    if (size === undefined) return false;
    this.allocated.delete(offset);
    this.usedBytes -= size;
    const offsets = this.freeOffsets;
    // First free range after the freed one.
    let low = 0;
    let high = offsets.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((offsets[middle] as number) < offset) low = middle + 1;
      else high = middle;
    }
    const previous = low - 1;
    const joinsPrevious =
      previous >= 0 && (offsets[previous] as number) + (this.freeSizes[previous] as number) === offset;
    const joinsNext = low < offsets.length && offset + size === offsets[low];
    if (joinsPrevious && joinsNext) {
      this.freeSizes[previous] =
        (this.freeSizes[previous] as number) + size + (this.freeSizes[low] as number);
      offsets.splice(low, 1);
      this.freeSizes.splice(low, 1);
    } else if (joinsPrevious) {
      this.freeSizes[previous] = (this.freeSizes[previous] as number) + size;
    } else if (joinsNext) {
      offsets[low] = offset;
      this.freeSizes[low] = (this.freeSizes[low] as number) + size;
    } else {
      offsets.splice(low, 0, offset);
      this.freeSizes.splice(low, 0, size);
    }
    return true;
  }

  /** Free ranges as [offset, size] pairs, in offset order (for tests and diagnostics). */
  freeRanges(): [number, number][] {
    return this.freeOffsets.map((offset, index) => [offset, this.freeSizes[index] as number]);
  }

  /** Allocated ranges as [offset, size] pairs, unordered. */
  allocatedRanges(): [number, number][] {
    return [...this.allocated];
  }
}
