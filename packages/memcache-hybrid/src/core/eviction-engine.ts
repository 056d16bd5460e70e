import type { Clock } from '@kvforge/runtime';
import { BLOB_STATE, MEDIUM, type Medium, segmentName } from './codes';
import type { Blob, BlobMove, MediumUsage, MemObject, Segment } from './meta-objects';
import { alignUp } from './segment-allocator';

export interface EvictionOptions {
  evictThresholdHigh: number;
  evictThresholdLow: number;
  /** Time for leases and reclaim timeouts; a ManualClock in tests. */
  clock: Pick<Clock, 'now'>;
  /**
   * Whether a rank's local service can copy blobs (HBM→DRAM demotion with the bytes). Without one — or
   * when it answers false (segments mounted with no data plane) — demotion is metadata-only.
   */
  canCopyBlobs?: (rank: number) => boolean;
  /** HA: a blob became readable (committed or moved) — the local services' blob map. */
  onBlobReadable?: (object: MemObject, blob: Blob) => void;
}

/** What the eviction engine needs from the object store it evicts from (MetaManager). */
export interface EvictionStore {
  usage(medium: Medium): MediumUsage;
  getSegment(name: string): Segment | undefined;
  query(key: string): MemObject | undefined;
  /** Objects of a medium in LRU order: the first one is the least recently used. */
  leastRecentlyUsed(medium: Medium): Iterable<MemObject>;
  placeBlobs(medium: Medium, size: number, replicas: number, preferredRank: number): Blob[] | undefined;
  freeBlob(blob: Blob): void;
  /** Frees each blob now, or after its reader's lease ends. */
  releaseBlobs(blobs: readonly Blob[]): void;
  remove(key: string): unknown;
  /** The object now lives in these (DRAM) blobs. */
  switchTo(object: MemObject, blobs: Blob[]): void;
}

/**
 * Eviction and HBM→DRAM demotion: picks LRU victims above the high mark, queues demotions for the local
 * services to copy (or demotes metadata-only without a data plane), and commits or undoes a finished copy.
 */
export class EvictionEngine {
  evictedObjects = 0;
  private moves: BlobMove[] = [];
  // Per medium, the bytes of blobs being demoted: still allocated, but already on their way out.
  private readonly leavingBytes = [0, 0];

  /** `options` is read at each call (the owner may change callbacks after construction). */
  constructor(
    private readonly options: EvictionOptions,
    private readonly host: EvictionStore,
  ) {}

  evictAboveHighMark(medium: Medium): void {
    const usage = this.host.usage(medium);
    const totalBytes = usage.totalBytes;
    // Counting the ranges of running demotions as used would demote another batch on every alloc
    // until the copies finish (the slower the copies, the more objects would leave HBM).
    const usedBytes = usage.usedBytes - (this.leavingBytes[medium] as number);
    if (totalBytes === 0 || usedBytes * 100 <= totalBytes * this.options.evictThresholdHigh) return;
    const target = (totalBytes * this.options.evictThresholdLow) / 100;
    this.evictBytes(medium, usedBytes - target);
  }

  /**
   * Evicts least recently used objects of a medium until `bytes` are freed, skipping objects being read
   * or still being written. HBM victims move down to DRAM when DRAM has room; the rest are removed.
   */
  evictBytes(medium: Medium, bytes: number): void {
    let freed = 0;
    const now = this.options.clock.now();
    const victims: MemObject[] = [];
    for (const object of this.host.leastRecentlyUsed(medium)) {
      if (freed >= bytes) break;
      if (object.moving) continue;
      if (
        object.blobs.some(
          (blob) => blob.state !== BLOB_STATE.READABLE || (blob.readers > 0 && blob.leaseUntil > now),
        )
      ) {
        continue;
      }
      victims.push(object);
      freed += alignUp(object.size) * object.blobs.length;
    }
    for (const victim of victims) {
      this.evictedObjects++;
      if (medium === MEDIUM.HBM && this.demote(victim)) continue;
      this.host.remove(victim.key);
    }
  }

  /** Demotions waiting to be copied (each is handed out once). */
  takeMoves(): BlobMove[] {
    const moves = this.moves;
    this.moves = [];
    return moves;
  }

  /**
   * A demotion's copy finished. Success: the object now lives in its DRAM blobs and the HBM ranges are
   * freed (after any reader's lease). Failure: the DRAM space is released and the object is evicted.
   */
  completeMove(move: BlobMove, copied: boolean): void {
    const host = this.host;
    const from = move.from[0];
    if (from) (this.leavingBytes[from.medium] as number) -= blobBytes(move.from);
    const object = host.query(move.key);
    if (!object || object.moving !== move.to) {
      // Removed (or re-put) meanwhile: remove() already released what it knew; the copy target is ours.
      for (const blob of move.to) if (!object?.blobs.includes(blob)) host.freeBlob(blob);
      return;
    }
    object.moving = undefined;
    if (!copied) {
      for (const blob of move.to) host.freeBlob(blob);
      host.remove(object.key);
      return;
    }
    host.releaseBlobs(object.blobs);
    for (const blob of move.to) blob.state = BLOB_STATE.READABLE;
    host.switchTo(object, [...move.to]);
    for (const blob of move.to) this.options.onBlobReadable?.(object, blob);
  }

  private demote(object: MemObject): boolean {
    const host = this.host;
    const ranks = object.blobs.map((blob) => blob.rank);
    const canCopyBlobs = this.options.canCopyBlobs;
    if (canCopyBlobs && ranks.every((rank) => canCopyBlobs(rank))) {
      // The bytes move with the blob: DRAM space on the same ranks, copied by their local services; the
      // HBM blobs stay readable until completeMove.
      const to: Blob[] = [];
      for (const rank of ranks) {
        const segment = host.getSegment(segmentName(rank, MEDIUM.DRAM));
        if (segment) allocateBlobOn(segment, object.size, to);
      }
      if (to.length !== ranks.length) {
        for (const blob of to) host.freeBlob(blob);
        return false;
      }
      object.moving = to;
      (this.leavingBytes[object.medium] as number) += blobBytes(object.blobs);
      this.moves.push({ key: object.key, from: object.blobs, to });
      return true;
    }
    const blobs = host.placeBlobs(MEDIUM.DRAM, object.size, object.blobs.length, -1);
    if (!blobs) return false;
    for (const blob of object.blobs) host.freeBlob(blob);
    for (const blob of blobs) blob.state = BLOB_STATE.READABLE;
    host.switchTo(object, blobs);
    return true;
  }
}

function blobBytes(blobs: readonly Blob[]): number {
  let bytes = 0;
  for (const blob of blobs) bytes += alignUp(blob.size);
  return bytes;
}

/** Takes `size` bytes on the segment and appends the ALLOCATED blob; appends nothing when it is full. */
export function allocateBlobOn(segment: Segment, size: number, blobs: Blob[]): void {
  const offset = segment.allocator.allocate(size);
  if (offset < 0) return;
  blobs.push({
    rank: segment.rank,
    medium: segment.medium,
    offset,
    size,
    state: BLOB_STATE.ALLOCATED,
    readers: 0,
    leaseUntil: 0,
  });
}
