import { SYSTEM_CLOCK } from '@kvforge/runtime';
import {
  BLOB_ACTION,
  BLOB_STATE,
  type BlobAction,
  MAX_BLOB_COPIES,
  MAX_KEY_LENGTH,
  MEDIUM,
  type Medium,
  MMC,
  type MmcResult,
  segmentName,
} from './codes';
import { allocateBlobOn, EvictionEngine, type EvictionOptions, type EvictionStore } from './eviction-engine';
import type { AllocRequest, Blob, BlobMove, MediumUsage, MemObject, Segment } from './meta-objects';
import { alignUp, SegmentAllocator } from './segment-allocator';

export interface MetaManagerOptions extends EvictionOptions {
  leaseMilliseconds: number;
  /** An object still ALLOCATED this long after its alloc (its writer died) is reclaimed. 0 = never. */
  allocatedTimeoutMilliseconds: number;
  random: () => number;
  /** HA: a blob's range was freed — the local services' blob map (onBlobReadable is its other half). */
  onBlobFreed?: (blob: Blob) => void;
}

export const DEFAULT_META_MANAGER_OPTIONS: Readonly<MetaManagerOptions> = Object.freeze({
  evictThresholdHigh: 90,
  evictThresholdLow: 80,
  leaseMilliseconds: 2000,
  allocatedTimeoutMilliseconds: 30_000,
  clock: SYSTEM_CLOCK,
  random: Math.random,
});

/**
 * The meta service's state: segments, objects and their blobs, per-medium LRU, leases and eviction.
 * Pure logic — time comes from `options.clock`, and `tick()` does the deferred work (freeing blobs whose
 * leases ended, reclaiming objects whose writer died), so a caller drives it with any timer.
 */
export class MetaManager {
  readonly options: MetaManagerOptions;
  private readonly segments = new Map<string, Segment>();
  private readonly segmentsByMedium: Segment[][] = [[], []];
  private readonly objects = new Map<string, MemObject>();
  // Per medium, in LRU order: the first entry is the least recently used.
  private readonly lru: Map<string, MemObject>[] = [new Map(), new Map()];
  private pendingFrees: Blob[] = [];
  private readonly eviction: EvictionEngine;

  constructor(options: Partial<MetaManagerOptions> = {}) {
    this.options = { ...DEFAULT_META_MANAGER_OPTIONS, ...options };
    if (!(this.options.evictThresholdLow < this.options.evictThresholdHigh)) {
      throw new RangeError('evictThresholdLow must be below evictThresholdHigh');
    }
    this.eviction = new EvictionEngine(this.options, this.evictionStore());
  }

  get evictedObjects(): number {
    return this.eviction.evictedObjects;
  }

  /** Demotions waiting to be copied (each is handed out once). */
  takeMoves(): BlobMove[] {
    return this.eviction.takeMoves();
  }

  /** A demotion's copy finished (see EvictionEngine.completeMove). */
  completeMove(move: BlobMove, copied: boolean): void {
    this.eviction.completeMove(move, copied);
  }

  get keyCount(): number {
    return this.objects.size;
  }

  mount(rank: number, medium: Medium, capacity: number): MmcResult {
    if (!Number.isInteger(rank) || rank < 0 || !(capacity > 0) || !isMedium(medium)) return MMC.INVALID_PARAM;
    const name = segmentName(rank, medium);
    if (this.segments.has(name)) return MMC.OK;
    const segment: Segment = { name, rank, medium, allocator: new SegmentAllocator(capacity) };
    this.segments.set(name, segment);
    const list = this.segmentsByMedium[medium] as Segment[];
    list.push(segment);
    list.sort((left, right) => left.rank - right.rank);
    return MMC.OK;
  }

  /** Stops a segment: every blob on it is dropped, objects left without blobs disappear. */
  unmount(rank: number, medium: Medium): MmcResult {
    const name = segmentName(rank, medium);
    const segment = this.segments.get(name);
    if (!segment) return MMC.INVALID_PARAM;
    for (const object of [...this.objects.values()]) {
      const kept = object.blobs.filter((blob) => !(blob.rank === rank && blob.medium === medium));
      if (kept.length === object.blobs.length) continue;
      object.blobs = kept;
      if (kept.length === 0) this.forget(object);
    }
    this.pendingFrees = this.pendingFrees.filter((blob) => !(blob.rank === rank && blob.medium === medium));
    this.segments.delete(name);
    const list = this.segmentsByMedium[medium] as Segment[];
    list.splice(list.indexOf(segment), 1);
    return MMC.OK;
  }

  /** Segments in the spec's order: every HBM segment by rank, then DRAM. */
  listSegments(): Segment[] {
    return [
      ...(this.segmentsByMedium[MEDIUM.HBM] as Segment[]),
      ...(this.segmentsByMedium[MEDIUM.DRAM] as Segment[]),
    ];
  }

  getSegment(name: string): Segment | undefined {
    return this.segments.get(name);
  }

  usage(medium: Medium): MediumUsage {
    let totalBytes = 0;
    let usedBytes = 0;
    for (const segment of this.segmentsByMedium[medium] as Segment[]) {
      totalBytes += segment.allocator.capacity;
      usedBytes += segment.allocator.usedBytes;
    }
    return { totalBytes, usedBytes };
  }

  alloc(key: string, request: AllocRequest): { result: MmcResult; object?: MemObject } {
    const replicas = request.replicas ?? 1;
    if (
      !isValidKey(key) ||
      !(request.size > 0) ||
      !Number.isInteger(replicas) ||
      replicas < 1 ||
      replicas > MAX_BLOB_COPIES
    ) {
      return { result: MMC.INVALID_PARAM };
    }
    const existing = this.objects.get(key);
    if (existing) {
      if (!this.isAbandoned(existing)) return { result: MMC.DUPLICATED_OBJECT };
      this.remove(key);
    }
    // Without a requested medium: the top tier, or DRAM when the value can never fit an HBM segment or
    // HBM stays full even after eviction (the original just fails).
    const tiers: Medium[] =
      request.medium !== undefined
        ? [request.medium]
        : ([MEDIUM.HBM, MEDIUM.DRAM].filter((tier) =>
            this.couldEverHold(tier as Medium, request.size, replicas),
          ) as Medium[]);
    let medium: Medium | undefined;
    let blobs: Blob[] | undefined;
    for (const tier of tiers) {
      if (!isMedium(tier)) return { result: MMC.NOT_ENOUGH_MEMORY };
      blobs = this.placeOn(tier, request.size, replicas, request.preferredRank ?? -1);
      if (blobs) {
        medium = tier;
        break;
      }
    }
    if (!blobs || medium === undefined) return { result: MMC.NOT_ENOUGH_MEMORY };
    const object: MemObject = {
      key,
      size: request.size,
      prot: 0,
      medium,
      blobs,
      allocatedAt: this.options.clock.now(),
    };
    this.objects.set(key, object);
    (this.lru[medium] as Map<string, MemObject>).set(key, object);
    return { result: MMC.OK, object };
  }

  updateState(key: string, rank: number, medium: Medium, action: BlobAction): MmcResult {
    const object = this.objects.get(key);
    if (!object) return MMC.UNMATCHED_KEY;
    const blob = object.blobs.find((candidate) => candidate.rank === rank && candidate.medium === medium);
    if (!blob) return MMC.UNMATCHED_STATE;
    switch (action) {
      case BLOB_ACTION.WRITE_OK:
        if (blob.state !== BLOB_STATE.ALLOCATED) return MMC.UNMATCHED_RET;
        blob.state = BLOB_STATE.READABLE;
        this.options.onBlobReadable?.(object, blob);
        return MMC.OK;
      case BLOB_ACTION.WRITE_FAIL:
        if (blob.state !== BLOB_STATE.ALLOCATED) return MMC.UNMATCHED_RET;
        this.remove(key);
        return MMC.OK;
      case BLOB_ACTION.READ_START:
        if (blob.state !== BLOB_STATE.READABLE) return MMC.UNMATCHED_RET;
        this.lease(blob);
        return MMC.OK;
      case BLOB_ACTION.READ_FINISH:
        if (blob.readers > 0) blob.readers--;
        return MMC.OK;
      default:
        return MMC.INVALID_PARAM;
    }
  }

  /** The first READABLE blob (allocation order), leased to the reader and promoted in the LRU. */
  get(key: string): { result: MmcResult; object?: MemObject; blob?: Blob } {
    const object = this.objects.get(key);
    if (!object) return { result: MMC.UNMATCHED_KEY };
    const blob = object.blobs.find((candidate) => candidate.state === BLOB_STATE.READABLE);
    if (!blob) return { result: MMC.ERROR, object };
    this.lease(blob);
    this.touch(object);
    return { result: MMC.OK, object, blob };
  }

  query(key: string): MemObject | undefined {
    return this.objects.get(key);
  }

  exist(key: string): MmcResult {
    const object = this.objects.get(key);
    if (!object) return MMC.UNMATCHED_KEY;
    if (!object.blobs.some((blob) => blob.state === BLOB_STATE.READABLE)) return MMC.OBJECT_NOT_EXISTS;
    this.touch(object);
    return MMC.OK;
  }

  /** The key disappears at once; blobs still leased to readers are freed by `tick` when the lease ends. */
  remove(key: string): MmcResult {
    const object = this.objects.get(key);
    if (!object) return MMC.UNMATCHED_KEY;
    this.forget(object);
    this.releaseBlobs(object.blobs);
    return MMC.OK;
  }

  removeAll(): MmcResult {
    for (const key of [...this.objects.keys()]) this.remove(key);
    return MMC.OK;
  }

  keys(): IterableIterator<string> {
    return this.objects.keys();
  }

  /** Deferred work: free blobs whose readers are gone, reclaim objects whose writer never committed. */
  tick(): void {
    const now = this.options.clock.now();
    if (this.pendingFrees.length > 0) {
      const waiting: Blob[] = [];
      for (const blob of this.pendingFrees) {
        if (blob.readers > 0 && blob.leaseUntil > now) waiting.push(blob);
        else this.freeBlob(blob);
      }
      this.pendingFrees = waiting;
    }
    if (this.options.allocatedTimeoutMilliseconds > 0) {
      for (const object of [...this.objects.values()]) {
        if (this.isAbandoned(object)) this.remove(object.key);
      }
    }
  }

  get pendingFreeCount(): number {
    return this.pendingFrees.length;
  }

  private isAbandoned(object: MemObject): boolean {
    const timeout = this.options.allocatedTimeoutMilliseconds;
    return (
      timeout > 0 &&
      object.blobs.every((blob) => blob.state === BLOB_STATE.ALLOCATED) &&
      this.options.clock.now() - object.allocatedAt >= timeout
    );
  }

  /** Evicts above the high mark, places the blobs, and if they do not fit evicts their size and retries once. */
  private placeOn(
    medium: Medium,
    size: number,
    replicas: number,
    preferredRank: number | readonly number[],
  ): Blob[] | undefined {
    this.eviction.evictAboveHighMark(medium);
    const blobs = this.placeBlobs(medium, size, replicas, preferredRank);
    if (blobs) return blobs;
    this.eviction.evictBytes(medium, alignUp(size) * replicas);
    return this.placeBlobs(medium, size, replicas, preferredRank);
  }

  /** At least `replicas` segments of the medium are big enough for the value when empty. */
  private couldEverHold(medium: Medium, size: number, replicas: number): boolean {
    const aligned = alignUp(size);
    const segments = this.segmentsByMedium[medium] as Segment[];
    return segments.filter((segment) => segment.allocator.capacity >= aligned).length >= replicas;
  }

  /** Blobs on distinct ranks: the preferred rank first, then the others from a random start. */
  private placeBlobs(
    medium: Medium,
    size: number,
    replicas: number,
    preferredRank: number | readonly number[],
  ): Blob[] | undefined {
    const segments = this.segmentsByMedium[medium] as Segment[];
    if (segments.length < replicas) return undefined;
    const blobs: Blob[] = [];
    const preferredRanks = typeof preferredRank === 'number' ? [preferredRank] : preferredRank;
    const preferred: Segment[] = [];
    for (const rank of preferredRanks) {
      if (blobs.length >= replicas) break;
      const segment = rank >= 0 ? segments.find((candidate) => candidate.rank === rank) : undefined;
      if (!segment || preferred.includes(segment)) continue;
      preferred.push(segment);
      allocateBlobOn(segment, size, blobs);
    }
    const start = Math.floor(this.options.random() * segments.length);
    for (let step = 0; step < segments.length && blobs.length < replicas; step++) {
      const segment = segments[(start + step) % segments.length] as Segment;
      if (!preferred.includes(segment)) allocateBlobOn(segment, size, blobs);
    }
    if (blobs.length === replicas) return blobs;
    for (const blob of blobs) this.freeBlob(blob);
    return undefined;
  }

  /** The store side of the eviction engine (private methods, so not part of the public API). */
  private evictionStore(): EvictionStore {
    return {
      usage: (medium) => this.usage(medium),
      getSegment: (name) => this.segments.get(name),
      query: (key) => this.objects.get(key),
      leastRecentlyUsed: (medium) => (this.lru[medium] as Map<string, MemObject>).values(),
      placeBlobs: (medium, size, replicas, preferredRank) =>
        this.placeBlobs(medium, size, replicas, preferredRank),
      freeBlob: (blob) => this.freeBlob(blob),
      releaseBlobs: (blobs) => this.releaseBlobs(blobs),
      remove: (key) => this.remove(key),
      switchTo: (object, blobs) => this.switchTo(object, blobs),
    };
  }

  /** Frees each blob now, or from `tick` once its reader's lease ends. */
  private releaseBlobs(blobs: readonly Blob[]): void {
    const now = this.options.clock.now();
    for (const blob of blobs) {
      if (blob.readers > 0 && blob.leaseUntil > now) this.pendingFrees.push(blob);
      else this.freeBlob(blob);
    }
  }

  private switchTo(object: MemObject, blobs: Blob[]): void {
    (this.lru[object.medium] as Map<string, MemObject>).delete(object.key);
    object.blobs = blobs;
    object.medium = MEDIUM.DRAM;
    (this.lru[MEDIUM.DRAM] as Map<string, MemObject>).set(object.key, object);
  }

  private lease(blob: Blob): void {
    blob.readers++;
    blob.leaseUntil = this.options.clock.now() + this.options.leaseMilliseconds;
  }

  private touch(object: MemObject): void {
    const list = this.lru[object.medium] as Map<string, MemObject>;
    list.delete(object.key);
    list.set(object.key, object);
  }

  private forget(object: MemObject): void {
    this.objects.delete(object.key);
    (this.lru[object.medium] as Map<string, MemObject>).delete(object.key);
  }

  /** HA rebuild: an object restored from the local services' blob maps (its ranges already taken). */
  adopt(object: MemObject): void {
    this.objects.set(object.key, object);
    (this.lru[object.medium] as Map<string, MemObject>).set(object.key, object);
  }

  private freeBlob(blob: Blob): void {
    if (this.segments.get(segmentName(blob.rank, blob.medium))?.allocator.free(blob.offset)) {
      this.options.onBlobFreed?.(blob);
    }
  }
}

export function isValidKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH;
}

function isMedium(medium: unknown): medium is Medium {
  return medium === MEDIUM.HBM || medium === MEDIUM.DRAM;
}
