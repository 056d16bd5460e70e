import { BLOB_STATE, MEDIUM, type Medium, segmentName } from './codes';
import { isValidKey, type MetaManager } from './meta-manager';
import type { MemObject, Segment } from './meta-objects';
import { SegmentAllocator } from './segment-allocator';

/** One committed blob a local service holds: `[key, objectSize, medium, offset]` (the original's blobMap). */
export type BlobRecord = readonly [key: string, size: number, medium: Medium, offset: number];

export interface RestoreOptions {
  /** Records adopted per event-loop turn. */
  chunkRecords: number;
  /** Gives the event loop back between chunks (injectable: tests pause a restore half-way). */
  yieldTurn: () => Promise<void>;
}

export const DEFAULT_RESTORE_OPTIONS: Readonly<RestoreOptions> = Object.freeze({
  chunkRecords: 4096,
  yieldTurn: () => new Promise<void>((resolve) => setImmediate(resolve)),
});

export interface RestoreOutcome {
  restored: number;
  refused: number;
}

// Objects created by a rebuild: only those take more replicas from other ranks' maps.
const restoredObjects = new WeakSet<MemObject>();

interface SegmentPlan {
  segment: Segment;
  records: BlobRecord[];
}

/**
 * The HA rebuild (the original's BmRegister with a blob map): a local service re-mounting with a new
 * leader brings the blobs it holds; its segments' allocators are rebuilt with those ranges taken and the
 * objects come back READABLE. A record is refused when its key already exists with another size or as an
 * object this node created itself (a live object always wins over a map), or when it overlaps another.
 *
 * Large maps are adopted in chunks (`chunkRecords` per turn) so the meta service keeps serving during a
 * rebuild. Safe half-way because every record's range is taken in the allocator first, in one turn: an
 * alloc on the rank during the chunks can never overlap a blob still to be adopted; a record refused later
 * gives its range back. A rank cleared meanwhile (its local service died) stops the restore.
 */
export async function restoreRank(
  manager: MetaManager,
  rank: number,
  records: readonly BlobRecord[],
  now: number,
  options: Partial<RestoreOptions> = {},
): Promise<RestoreOutcome> {
  const { chunkRecords, yieldTurn } = { ...DEFAULT_RESTORE_OPTIONS, ...options };
  const plans = [MEDIUM.HBM, MEDIUM.DRAM].flatMap((medium) => reserveRanges(manager, rank, medium, records));
  let restored = 0;
  let handled = 0;
  for (const { segment, records: reserved } of plans) {
    for (const [key, size, medium, offset] of reserved) {
      if (handled > 0 && handled % chunkRecords === 0) await yieldTurn();
      handled++;
      if (manager.getSegment(segment.name) !== segment)
        return { restored, refused: records.length - restored };
      const existing = manager.query(key);
      if (
        existing &&
        !(
          restoredObjects.has(existing) &&
          existing.size === size &&
          !existing.blobs.some((blob) => blob.rank === rank)
        )
      ) {
        // Taken meanwhile by a live put (or a map that disagrees): the range goes back.
        segment.allocator.free(offset);
        continue;
      }
      const blob = { rank, medium, offset, size, state: BLOB_STATE.READABLE, readers: 0, leaseUntil: 0 };
      if (existing) {
        existing.blobs.push(blob);
      } else {
        const object: MemObject = { key, size, prot: 0, medium, blobs: [blob], allocatedAt: now };
        restoredObjects.add(object);
        manager.adopt(object);
      }
      restored++;
    }
  }
  return { restored, refused: records.length - restored };
}

/**
 * One turn: the records of one segment that pass the static checks get their ranges taken (the ranges
 * already allocated there first, so a record overlapping them loses).
 */
function reserveRanges(
  manager: MetaManager,
  rank: number,
  medium: Medium,
  records: readonly BlobRecord[],
): SegmentPlan[] {
  const segment = manager.getSegment(segmentName(rank, medium));
  if (!segment) return [];
  const candidates = records.filter(
    (record) =>
      record[2] === medium &&
      isValidKey(record[0]) &&
      Number.isSafeInteger(record[1]) &&
      record[1] > 0 &&
      Number.isSafeInteger(record[3]),
  );
  const taken = segment.allocator.allocatedRanges();
  const { allocator, rejected } = SegmentAllocator.withRanges(segment.allocator.capacity, [
    ...taken,
    ...candidates.map((record) => [record[3], record[1]] as const),
  ]);
  segment.allocator = allocator;
  const skip = new Set(rejected.map((index) => index - taken.length));
  return [{ segment, records: candidates.filter((_record, index) => !skip.has(index)) }];
}
