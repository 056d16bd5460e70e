import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { partitionOf } from '../core/hash';
import { ANSWERS, decodeAnswer, INTERNAL_PATHS, LOCAL_ONLY_HEADER } from '../core/internal-api';
import { awaitQuorum, replicaAcksNeeded } from '../core/quorum';
import type { StoreEntry } from '../core/store';
import { fromWire, toWire, type WireEntry } from '../core/wire-entry';
import type { ReadResult } from './node-options';
import { NodeState } from './node-state';

/**
 * The owner side of single-key operations: reads as a holder (with the migration fallback),
 * versioned writes replicated to the write quorum, and the wire copies replication and migration move.
 */
export abstract class NodeOwner extends NodeState {
  checkValue(key: string, valueJson: string): void {
    this.checkKey(key);
    if (Buffer.byteLength(valueJson) > this.options.maxValueBytes) {
      throw new DcacheError(
        DCACHE_ERROR_CODES.VALUE_TOO_LARGE,
        `value is larger than ${this.options.maxValueBytes} bytes`,
      );
    }
  }

  checkKey(key: string): void {
    if (key.length === 0) throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, 'key must not be empty');
    if (key.length * 3 > this.options.maxKeyBytes && Buffer.byteLength(key) > this.options.maxKeyBytes) {
      throw new DcacheError(
        DCACHE_ERROR_CODES.INVALID_REQUEST,
        `key is longer than ${this.options.maxKeyBytes} bytes`,
      );
    }
  }

  /** Serves a read as a holder: the local store, then, while the partition is still arriving, its previous holders. */
  async ownerGet(key: string): Promise<ReadResult> {
    if (this.incoming.size > 0) {
      const partition = partitionOf(key, this.options.partitionCount);
      if (this.incoming.has(partition)) {
        // Still arriving: the previous holders may have a newer value or the only copy.
        const before = this.store.peekAny(key)?.version ?? -1;
        await this.readFromSources(partition, key);
        const entry = this.store.get(key);
        if (entry === undefined) return { found: false, valueJson: 'null', nodeId: this.nodeId };
        if (entry.version > before) this.counters.migrationFallbackReads++;
        return { found: true, valueJson: entry.valueJson, nodeId: this.nodeId };
      }
    }
    const entry = this.store.get(key);
    if (entry !== undefined) return { found: true, valueJson: entry.valueJson, nodeId: this.nodeId };
    return { found: false, valueJson: 'null', nodeId: this.nodeId };
  }

  /**
   * A hit this node can answer without any await: it is the primary, the partition is not arriving,
   * and the value is in the store. Counts the hit; a miss here is not counted (node.get will).
   */
  localHit(key: string): StoreEntry | undefined {
    const partition = partitionOf(key, this.options.partitionCount);
    if (this.tableValue.owners[partition]?.[0] !== this.nodeId || this.incoming.has(partition))
      return undefined;
    if (this.store.peek(key) === undefined) return undefined;
    return this.store.get(key);
  }

  localGet(key: string): StoreEntry | undefined {
    return this.store.peekAny(key);
  }

  protected async readFromSources(partition: number, key: string): Promise<StoreEntry | undefined> {
    const answers = await Promise.allSettled(
      this.sourcesOf(partition).map(async (nodeId) => {
        const address = this.sourceAddress(nodeId);
        if (address === undefined || this.detector.isDead(nodeId)) return null;
        const response = await this.peers.call(address, 'GET', INTERNAL_PATHS.cache(key), {
          headers: { [LOCAL_ONLY_HEADER]: '1' },
          timeoutMs: this.options.probeTimeoutMs * 2,
        });
        return decodeAnswer(ANSWERS.localEntry, response, nodeId).entry;
      }),
    );
    let best: WireEntry | undefined;
    for (const answer of answers) {
      if (answer.status === 'fulfilled' && answer.value !== null) {
        if (best === undefined || answer.value[2] > best[2]) best = answer.value;
      }
    }
    if (best === undefined) return undefined;
    this.store.applyCopy(fromWire(best));
    return this.store.peekAny(key);
  }

  async ownerSet(key: string, valueJson: string, ttlMs: number): Promise<{ nodeId: string }> {
    this.checkValue(key, valueJson);
    const entry = this.store.set(key, valueJson, ttlMs);
    await this.replicate(entry.partition, [toWire(entry)]);
    return { nodeId: this.nodeId };
  }

  async ownerDelete(key: string): Promise<{ nodeId: string; existed: boolean }> {
    const { existed } = this.store.delete(key);
    const entry = this.store.peekAny(key)!;
    await this.replicate(entry.partition, [toWire(entry)]);
    return { nodeId: this.nodeId, existed };
  }

  /** Sends entries of one partition to its replicas and waits for the write quorum. */
  protected async replicate(partition: number, entries: WireEntry[]): Promise<void> {
    const replicas = (this.tableValue.owners[partition] ?? []).filter((nodeId) => nodeId !== this.nodeId);
    if (replicas.length === 0) return;
    const sends = replicas.map((nodeId) => this.sendEntries(nodeId, entries));
    await awaitQuorum(sends, replicaAcksNeeded(this.options.writeQuorum, replicas.length));
  }

  protected async sendEntries(nodeId: string, entries: WireEntry[]): Promise<void> {
    const address = this.addressOf(nodeId);
    const response = await this.peers.call(address, 'POST', INTERNAL_PATHS.replicate, {
      body: { entries },
      headers: this.internalHeaders(),
    });
    if (response.statusCode !== 200) throw new Error(`replicate to ${nodeId}: ${response.statusCode}`);
  }

  /** Applies copies sent by a primary or a migration; returns how many were newer. */
  applyEntries(entries: readonly WireEntry[]): number {
    let applied = 0;
    for (const entry of entries) if (this.store.applyCopy(fromWire(entry))) applied++;
    return applied;
  }

  /** Entries of the given partitions (tombstones included) for a node pulling them. */
  exportPartitions(partitions: readonly number[]): WireEntry[] {
    const entries: WireEntry[] = [];
    const now = this.clock.now();
    for (const partition of partitions) {
      for (const entry of this.store.partitionEntries(partition)) {
        if (entry.expiresAt === 0 || entry.expiresAt > now) entries.push(toWire(entry));
      }
    }
    return entries;
  }
}
