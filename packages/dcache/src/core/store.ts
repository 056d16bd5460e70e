import { type Clock, SYSTEM_CLOCK } from '@kvforge/runtime';
import { DEFAULT_PARTITION_COUNT, partitionOf } from './hash';

/** One stored value. `valueJson` is the value already serialised, so a GET hit builds its body by concatenation. */
export interface StoreEntry {
  key: string;
  valueJson: string;
  /**
   * The table epoch (ring version) under which the primary accepted the write. Entries order by
   * (epoch, version): a write stamped under an old table never beats one accepted under a newer
   * one, whatever the clocks say (`isNewerStamp`).
   */
  epoch: number;
  /** Hybrid-clock counter assigned by the primary, within the epoch. */
  version: number;
  /** Epoch ms; 0 = never. */
  expiresAt: number;
  /** A tombstone: remembers a delete so a late copy cannot resurrect the key. */
  deleted: boolean;
  bytes: number;
  partition: number;
}

/** An entry as replication and migration carry it. */
export type EntryCopy = Pick<StoreEntry, 'key' | 'valueJson' | 'epoch' | 'version' | 'expiresAt' | 'deleted'>;

/** (epoch, version) order: the fence that keeps a write from an old table below every newer-table write. */
export function isNewerStamp(
  candidate: Pick<StoreEntry, 'epoch' | 'version'>,
  current: Pick<StoreEntry, 'epoch' | 'version'>,
): boolean {
  return candidate.epoch !== current.epoch
    ? candidate.epoch > current.epoch
    : candidate.version > current.version;
}

export interface StoreOptions {
  /** Upper bound of accounted bytes (keys + values + overhead). */
  maxBytes: number;
  partitionCount: number;
  /** How long tombstones are kept. */
  tombstoneTtlMs: number;
  /** Time of TTLs and versions; inject a ManualClock to test expiry without waiting. */
  clock: Pick<Clock, 'now'>;
}

export const DEFAULT_STORE_OPTIONS: StoreOptions = {
  maxBytes: 256 * 1024 * 1024,
  partitionCount: DEFAULT_PARTITION_COUNT,
  tombstoneTtlMs: 60_000,
  clock: SYSTEM_CLOCK,
};

/** Per-entry bookkeeping cost, as groupcache/ryan_cache estimate it. */
export const ENTRY_OVERHEAD_BYTES = 64;

export interface StoreStats {
  hits: number;
  misses: number;
  evictions: number;
  expired: number;
  /** Live entries (tombstones excluded): the spec's `total_Size`. */
  entries: number;
  bytes: number;
}

/**
 * Byte-bounded LRU with TTL and versioned entries. A Map's insertion order is the recency order:
 * a hit re-inserts the key at the end, eviction takes from the front.
 */
export class VersionedStore {
  readonly options: StoreOptions;
  private readonly entries = new Map<string, StoreEntry>();
  private readonly partitions: Array<Set<string>>;
  private bytes = 0;
  private liveEntries = 0;
  private lastVersion = 0;
  readonly stats = { hits: 0, misses: 0, evictions: 0, expired: 0 };

  constructor(options: Partial<StoreOptions> = {}) {
    this.options = { ...DEFAULT_STORE_OPTIONS, ...options };
    this.partitions = [];
    for (let index = 0; index < this.options.partitionCount; index++) this.partitions.push(new Set());
  }

  /** A new version greater than every version this store has seen (hybrid clock: ms × 1024 + counter). */
  nextVersion(): number {
    const candidate = this.options.clock.now() * 1024;
    this.lastVersion = candidate > this.lastVersion ? candidate : this.lastVersion + 1;
    return this.lastVersion;
  }

  private observeVersion(version: number): void {
    if (version > this.lastVersion) this.lastVersion = version;
  }

  /** The live entry, counting a hit or a miss and refreshing recency. */
  get(key: string): StoreEntry | undefined {
    const entry = this.peek(key);
    if (entry === undefined) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** The live entry without touching stats or recency. */
  peek(key: string): StoreEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.deleted) return undefined;
    if (entry.expiresAt !== 0 && entry.expiresAt <= this.options.clock.now()) {
      this.remove(entry);
      this.stats.expired++;
      return undefined;
    }
    return entry;
  }

  /** The entry or tombstone (for copies and reconciliation). */
  peekAny(key: string): StoreEntry | undefined {
    return this.entries.get(key);
  }

  /** A local write under table `epoch`: assigns a fresh version. */
  set(key: string, valueJson: string, ttlMs = 0, epoch = 0): StoreEntry {
    const version = this.nextVersion();
    const expiresAt = ttlMs > 0 ? this.options.clock.now() + ttlMs : 0;
    return this.write(key, valueJson, epoch, version, expiresAt, false);
  }

  /**
   * A stamped copy of a new write (or, with `deleted`, a tombstone) that is not stored yet: the
   * primary stores it only once the write quorum holds it, so a write the fence rejects leaves no trace.
   */
  stamp(key: string, valueJson: string, ttlMs: number, epoch: number, deleted = false): EntryCopy {
    const now = this.options.clock.now();
    const expiresAt = deleted ? now + this.options.tombstoneTtlMs : ttlMs > 0 ? now + ttlMs : 0;
    return {
      key,
      valueJson: deleted ? 'null' : valueJson,
      epoch,
      version: this.nextVersion(),
      expiresAt,
      deleted,
    };
  }

  /** A local delete under table `epoch`: leaves a tombstone. Returns whether a live value existed. */
  delete(key: string, epoch = 0): { existed: boolean; entry: StoreEntry } {
    const existed = this.peek(key) !== undefined;
    const version = this.nextVersion();
    const tombstoneUntil = this.options.clock.now() + this.options.tombstoneTtlMs;
    return { existed, entry: this.write(key, 'null', epoch, version, tombstoneUntil, true) };
  }

  /**
   * Applies a copy (replication, migration). Returns false when the store already holds the same or
   * a newer version, so an old copy never overwrites a newer write.
   */
  applyCopy(copy: EntryCopy): boolean {
    this.observeVersion(copy.version);
    const existing = this.entries.get(copy.key);
    if (existing !== undefined && !isNewerStamp(copy, existing)) return false;
    if (copy.expiresAt !== 0 && copy.expiresAt <= this.options.clock.now()) return false;
    this.write(copy.key, copy.valueJson, copy.epoch, copy.version, copy.expiresAt, copy.deleted);
    return true;
  }

  private write(
    key: string,
    valueJson: string,
    epoch: number,
    version: number,
    expiresAt: number,
    deleted: boolean,
  ): StoreEntry {
    const existing = this.entries.get(key);
    if (existing !== undefined) this.remove(existing);
    const entry: StoreEntry = {
      key,
      valueJson,
      epoch,
      version,
      expiresAt,
      deleted,
      bytes: key.length * 2 + valueJson.length * 2 + ENTRY_OVERHEAD_BYTES,
      partition: partitionOf(key, this.options.partitionCount),
    };
    this.entries.set(key, entry);
    this.partitions[entry.partition]!.add(key);
    this.bytes += entry.bytes;
    if (!deleted) this.liveEntries++;
    this.evict();
    return entry;
  }

  private remove(entry: StoreEntry): void {
    this.entries.delete(entry.key);
    this.partitions[entry.partition]!.delete(entry.key);
    this.bytes -= entry.bytes;
    if (!entry.deleted) this.liveEntries--;
  }

  private evict(): void {
    while (this.bytes > this.options.maxBytes && this.entries.size > 0) {
      const oldest = this.entries.values().next().value as StoreEntry;
      this.remove(oldest);
      if (!oldest.deleted) this.stats.evictions++;
    }
  }

  /** Removes up to `limit` expired entries and tombstones; returns how many. */
  sweepExpired(limit = 1000): number {
    const now = this.options.clock.now();
    let removed = 0;
    for (const entry of this.entries.values()) {
      if (removed >= limit) break;
      if (entry.expiresAt !== 0 && entry.expiresAt <= now) {
        this.remove(entry);
        if (!entry.deleted) this.stats.expired++;
        removed++;
      }
    }
    return removed;
  }

  /** Every entry (tombstones included) of one partition, for migration. */
  *partitionEntries(partition: number): IterableIterator<StoreEntry> {
    const keys = this.partitions[partition];
    if (keys === undefined) return;
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry !== undefined) yield entry;
    }
  }

  partitionSize(partition: number): number {
    return this.partitions[partition]?.size ?? 0;
  }

  /** Drops a partition this node no longer holds. */
  dropPartition(partition: number): number {
    const keys = this.partitions[partition];
    if (keys === undefined) return 0;
    let dropped = 0;
    for (const key of [...keys]) {
      const entry = this.entries.get(key);
      if (entry !== undefined) {
        this.remove(entry);
        dropped++;
      }
    }
    return dropped;
  }

  snapshotStats(): StoreStats {
    return { ...this.stats, entries: this.liveEntries, bytes: this.bytes };
  }
}
