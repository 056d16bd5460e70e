import { BLOB_STATE, MEDIUM, type Medium, segmentName } from './codes';
import { isValidKey, type MetaManager } from './meta-manager';
import type { MemObject } from './meta-objects';
import { SegmentAllocator } from './segment-allocator';

/** One committed blob a local service holds: `[key, objectSize, medium, offset]` (the original's blobMap). */
export type BlobRecord = readonly [key: string, size: number, medium: Medium, offset: number];

// Objects created by a rebuild: only those take more replicas from other ranks' maps.
const restoredObjects = new WeakSet<MemObject>();

/**
 * The HA rebuild (the original's BmRegister with a blob map): a local service re-mounting with a new
 * leader brings the blobs it holds; its segments' allocators are rebuilt with those ranges taken and the
 * objects come back READABLE. A record is refused when its key already exists with another size or as an
 * object this node created itself (a live object always wins over a map), or when it overlaps another.
 */
export function restoreRank(
  manager: MetaManager,
  rank: number,
  records: readonly BlobRecord[],
  now: number,
): { restored: number; refused: number } {
  let restored = 0;
  for (const medium of [MEDIUM.HBM, MEDIUM.DRAM] as const) {
    const segment = manager.getSegment(segmentName(rank, medium));
    if (!segment) continue;
    const candidates = records.filter((record) => {
      if (record[2] !== medium || !isValidKey(record[0]) || !Number.isSafeInteger(record[1])) return false;
      if (record[1] <= 0 || !Number.isSafeInteger(record[3])) return false;
      const existing = manager.query(record[0]);
      if (!existing) return true;
      return (
        restoredObjects.has(existing) &&
        existing.size === record[1] &&
        !existing.blobs.some((blob) => blob.rank === rank)
      );
    });
    // Ranges already taken on this segment stay taken (listed first, so a record overlapping them loses).
    const taken = segment.allocator.allocatedRanges();
    const { allocator, rejected } = SegmentAllocator.withRanges(segment.allocator.capacity, [
      ...taken,
      ...candidates.map((record) => [record[3], record[1]] as const),
    ]);
    segment.allocator = allocator;
    const skip = new Set(rejected.map((index) => index - taken.length));
    candidates.forEach(([key, size, , offset], index) => {
      if (skip.has(index)) return;
      const blob = { rank, medium, offset, size, state: BLOB_STATE.READABLE, readers: 0, leaseUntil: 0 };
      const existing = manager.query(key);
      if (existing) {
        existing.blobs.push(blob);
      } else {
        const object: MemObject = { key, size, prot: 0, medium, blobs: [blob], allocatedAt: now };
        restoredObjects.add(object);
        manager.adopt(object);
      }
      restored++;
    });
  }
  return { restored, refused: records.length - restored };
}
