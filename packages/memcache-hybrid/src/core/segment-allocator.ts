import { ALLOCATION_ALIGNMENT } from './codes';

export function alignUp(size: number): number {
  return Math.ceil(size / ALLOCATION_ALIGNMENT) * ALLOCATION_ALIGNMENT;
}

/** Free ranges of one size: a min-heap of offsets with lazy deletion (an entry is live while the range is free). */
interface SizeBucket {
  heap: number[];
  live: number;
}

/**
 * Best-fit range allocator of one segment (the original's rule: smallest free range that fits, lowest
 * offset on ties). Instead of the original's two trees:
 * - coalescing uses two hash maps, free ranges by start and by end, so a free finds both neighbours in O(1);
 * - best fit uses the sorted list of distinct free sizes (binary search) and, per size, a min-heap of
 *   offsets, so an alloc is O(log n). A range leaving the free set (taken or merged) is dropped from its
 *   heap lazily; heaps are compacted when stale entries dominate.
 * Sizes are aligned up to 4 KiB; `usedBytes` counts aligned bytes. Inside, offsets and sizes are counted in
 * 4 KiB blocks, so every map key is a small integer (V8 Smi) instead of a heap number past 2^31 bytes.
 */
type Range = readonly [offset: number, size: number];

export class SegmentAllocator {
  readonly capacity: number;
  usedBytes = 0;
  private readonly freeByStart = new Map<number, number>(); // start block → blocks
  private readonly freeByEnd = new Map<number, number>(); // end block → start block
  private readonly buckets = new Map<number, SizeBucket>();
  // Distinct sizes of the free ranges, ascending. Uniform KV block sizes keep it short.
  private readonly sizes: number[] = [];
  private readonly allocated = new Map<number, number>(); // start block → blocks

  constructor(capacity: number) {
    this.capacity = Math.floor(capacity / ALLOCATION_ALIGNMENT) * ALLOCATION_ALIGNMENT;
    if (this.capacity > 0) this.addFree(0, this.capacity / ALLOCATION_ALIGNMENT);
  }

  /**
   * An allocator whose `ranges` ([offset, size] in bytes, aligned offsets) are already taken: the HA
   * rebuild from a local service's blob map. Overlapping or out-of-bounds ranges are skipped and
   * returned in `rejected` (a stale map must not corrupt the segment). O(n log n).
   */
  static withRanges(
    capacity: number,
    ranges: readonly (readonly [number, number])[],
  ): { allocator: SegmentAllocator; rejected: number[] } {
    const allocator = new SegmentAllocator(0);
    (allocator as { capacity: number }).capacity =
      Math.floor(capacity / ALLOCATION_ALIGNMENT) * ALLOCATION_ALIGNMENT;
    const end = allocator.capacity / ALLOCATION_ALIGNMENT;
    // Indexes in offset order; a blob map usually arrives sorted already (commit order), then no sort.
    const order = new Uint32Array(ranges.length);
    let inOrder = true;
    for (let index = 0; index < ranges.length; index++) {
      order[index] = index;
      if (index > 0 && (ranges[index] as Range)[0] < (ranges[index - 1] as Range)[0]) inOrder = false;
    }
    if (!inOrder) {
      const offsets = Float64Array.from(ranges, (range) => range[0]);
      order.sort((left, right) => (offsets[left] as number) - (offsets[right] as number) || left - right);
    }
    const rejected: number[] = [];
    let cursor = 0;
    for (const index of order) {
      const [offsetBytes, sizeBytes] = ranges[index] as Range;
      const start = offsetBytes / ALLOCATION_ALIGNMENT;
      const blocks = Math.ceil(Math.max(sizeBytes, 1) / ALLOCATION_ALIGNMENT);
      if (!Number.isInteger(start) || start < cursor || start + blocks > end) {
        rejected.push(index);
        continue;
      }
      if (start > cursor) allocator.addFree(cursor, start - cursor);
      allocator.allocated.set(start, blocks);
      allocator.usedBytes += blocks * ALLOCATION_ALIGNMENT;
      cursor = start + blocks;
    }
    if (end > cursor) allocator.addFree(cursor, end - cursor);
    return { allocator, rejected };
  }

  get freeBytes(): number {
    return this.capacity - this.usedBytes;
  }

  get allocationCount(): number {
    return this.allocated.size;
  }

  get freeRangeCount(): number {
    return this.freeByStart.size;
  }

  /** The offset of a new range of at least `size` bytes, or -1 when no free range fits. */
  allocate(size: number): number {
    const aligned = Math.ceil(Math.max(size, 1) / ALLOCATION_ALIGNMENT); // in blocks
    const sizes = this.sizes;
    let low = 0;
    let high = sizes.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((sizes[middle] as number) < aligned) low = middle + 1;
      else high = middle;
    }
    if (low === sizes.length) return -1;
    const rangeSize = sizes[low] as number;
    const remainder = rangeSize - aligned;
    const bucket = this.buckets.get(rangeSize) as SizeBucket;
    // Fast path (carving from the tail): the only range of its size shrinks in place when its new size
    // keeps its rank among the sizes — no bucket, heap or size-list churn.
    if (
      remainder > 0 &&
      bucket.live === 1 &&
      bucket.heap.length === 1 &&
      (low === 0 || (sizes[low - 1] as number) < remainder) &&
      !this.buckets.has(remainder)
    ) {
      const offset = bucket.heap[0] as number;
      const end = offset + rangeSize;
      this.freeByStart.delete(offset);
      this.freeByStart.set(offset + aligned, remainder);
      this.freeByEnd.set(end, offset + aligned);
      this.buckets.delete(rangeSize);
      this.buckets.set(remainder, bucket);
      bucket.heap[0] = offset + aligned;
      sizes[low] = remainder;
      this.allocated.set(offset, aligned);
      this.usedBytes += aligned * ALLOCATION_ALIGNMENT;
      return offset * ALLOCATION_ALIGNMENT;
    }
    const offset = this.popLowest(rangeSize);
    this.freeByStart.delete(offset);
    this.freeByEnd.delete(offset + rangeSize);
    if (remainder > 0) this.addFree(offset + aligned, remainder);
    this.allocated.set(offset, aligned);
    this.usedBytes += aligned * ALLOCATION_ALIGNMENT;
    return offset * ALLOCATION_ALIGNMENT;
  }

  /** Frees a range returned by allocate; false on a double or unknown free. */
  free(offsetBytes: number): boolean {
    const offset = offsetBytes / ALLOCATION_ALIGNMENT;
    const size = this.allocated.get(offset); // undefined for a fractional (unaligned) offset too
    if (size === undefined) return false;
    this.allocated.delete(offset);
    this.usedBytes -= size * ALLOCATION_ALIGNMENT;
    let start = offset;
    let end = offset + size;
    const previousStart = this.freeByEnd.get(start);
    if (previousStart !== undefined) {
      this.removeFree(previousStart, start - previousStart);
      start = previousStart;
    }
    const nextSize = this.freeByStart.get(end);
    if (nextSize !== undefined) {
      this.removeFree(end, nextSize);
      end += nextSize;
    }
    this.addFree(start, end - start);
    return true;
  }

  /** Free ranges as [offset, size] pairs, in offset order (for tests and diagnostics). */
  freeRanges(): [number, number][] {
    return [...this.freeByStart]
      .sort((left, right) => left[0] - right[0])
      .map(([start, blocks]) => [start * ALLOCATION_ALIGNMENT, blocks * ALLOCATION_ALIGNMENT]);
  }

  /** Allocated ranges as [offset, size] pairs, unordered. */
  allocatedRanges(): [number, number][] {
    return [...this.allocated].map(([start, blocks]) => [
      start * ALLOCATION_ALIGNMENT,
      blocks * ALLOCATION_ALIGNMENT,
    ]);
  }

  private addFree(offset: number, size: number): void {
    this.freeByStart.set(offset, size);
    this.freeByEnd.set(offset + size, offset);
    let bucket = this.buckets.get(size);
    if (bucket === undefined) {
      bucket = { heap: [], live: 0 };
      this.buckets.set(size, bucket);
      this.insertSize(size);
    }
    bucket.live++;
    heapPush(bucket.heap, offset);
  }

  /** Takes a free range out of the free set (its heap entry goes stale). */
  private removeFree(offset: number, size: number): void {
    this.freeByStart.delete(offset);
    this.freeByEnd.delete(offset + size);
    const bucket = this.buckets.get(size) as SizeBucket;
    bucket.live--;
    if (bucket.live === 0) this.dropBucket(size);
    else if (bucket.heap.length > 2 * bucket.live + 32) this.compact(bucket, size);
  }

  /** Pops the lowest live offset of a bucket that has one; the caller unlinks it from the maps. */
  private popLowest(size: number): number {
    const bucket = this.buckets.get(size) as SizeBucket;
    const heap = bucket.heap;
    for (;;) {
      const offset = heapPop(heap);
      // Live when that range is still free with this size (a stale entry of a merged/taken range is skipped).
      if (this.freeByStart.get(offset) === size) {
        bucket.live--;
        if (bucket.live === 0) this.dropBucket(size);
        return offset;
      }
    }
  }

  private dropBucket(size: number): void {
    this.buckets.delete(size);
    const sizes = this.sizes;
    let low = 0;
    let high = sizes.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((sizes[middle] as number) < size) low = middle + 1;
      else high = middle;
    }
    sizes.splice(low, 1);
  }

  private insertSize(size: number): void {
    const sizes = this.sizes;
    // The tail range is usually the largest: append without a search.
    if (sizes.length === 0 || (sizes[sizes.length - 1] as number) < size) {
      sizes.push(size);
      return;
    }
    let low = 0;
    let high = sizes.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((sizes[middle] as number) < size) low = middle + 1;
      else high = middle;
    }
    sizes.splice(low, 0, size);
  }

  private compact(bucket: SizeBucket, size: number): void {
    const seen = new Set<number>();
    for (const offset of bucket.heap) {
      if (this.freeByStart.get(offset) === size) seen.add(offset);
    }
    bucket.heap = [...seen].sort((left, right) => left - right); // a sorted array is a valid min-heap
  }
}

function heapPush(heap: number[], value: number): void {
  let index = heap.length;
  heap.push(value);
  while (index > 0) {
    const parent = (index - 1) >>> 1;
    const parentValue = heap[parent] as number;
    if (parentValue <= value) break;
    heap[index] = parentValue;
    index = parent;
  }
  heap[index] = value;
}

function heapPop(heap: number[]): number {
  const top = heap[0] as number;
  const last = heap.pop() as number;
  const length = heap.length;
  if (length === 0) return top;
  let index = 0;
  for (;;) {
    const left = 2 * index + 1;
    if (left >= length) break;
    const right = left + 1;
    const child = right < length && (heap[right] as number) < (heap[left] as number) ? right : left;
    if ((heap[child] as number) >= last) break;
    heap[index] = heap[child] as number;
    index = child;
  }
  heap[index] = last;
  return top;
}
