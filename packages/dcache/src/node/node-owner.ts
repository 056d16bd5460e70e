import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { pushTo } from '../core/group-by';
import { partitionOf } from '../core/hash';
import { ANSWERS, decodeAnswer, INTERNAL_PATHS, LOCAL_ONLY_HEADER } from '../core/internal-api';
import { awaitQuorum, replicaAcksNeeded } from '../core/quorum';
import { isNewerStamp, type StoreEntry } from '../core/store';
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
    if (this.fence.guards(partitionOf(key, this.options.partitionCount))) await this.fence.passed();
    if (this.incoming.size > 0) {
      const partition = partitionOf(key, this.options.partitionCount);
      if (this.incoming.has(partition)) {
        // Still arriving: the previous holders may have a newer value or the only copy.
        const before = this.store.peekAny(key);
        await this.readFromSources(partition, key);
        const entry = this.store.get(key);
        if (entry === undefined) return { found: false, valueJson: 'null', nodeId: this.nodeId };
        if (entry !== before) this.counters.migrationFallbackReads++;
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
    if (
      this.tableValue.owners[partition]?.[0] !== this.nodeId ||
      this.incoming.has(partition) ||
      this.fence.guards(partition) ||
      !this.tableIsFresh
    )
      return undefined;
    if (this.store.peek(key) === undefined) return undefined;
    return this.store.get(key);
  }

  /**
   * An owner read that needs no await: the caller's table is not newer than ours, ours is
   * confirmed, this node holds the key and its partition is not arriving. The entry, null for a
   * miss (both counted), or undefined when the read must take the full path (`ownerGet`).
   */
  ownerReadNow(key: string, callerVersion: number): StoreEntry | null | undefined {
    if (callerVersion > this.tableValue.version || !this.tableIsFresh) return undefined;
    const partition = partitionOf(key, this.options.partitionCount);
    if (
      this.incoming.has(partition) ||
      this.fence.guards(partition) ||
      !this.tableValue.owners[partition]?.includes(this.nodeId)
    )
      return undefined;
    return this.store.get(key) ?? null;
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
        if (best === undefined || isNewerStamp(fromWire(answer.value), fromWire(best))) best = answer.value;
      }
    }
    if (best === undefined) return undefined;
    this.store.applyCopy(fromWire(best));
    return this.store.peekAny(key);
  }

  /** `callerVersion`: the ring version of the node that forwarded the write (undefined: a client's). */
  async ownerSet(
    key: string,
    valueJson: string,
    ttlMs: number,
    callerVersion?: number,
  ): Promise<{ nodeId: string }> {
    this.checkValue(key, valueJson);
    await this.commitWrites([{ key, valueJson, ttlMs, deleted: false }], callerVersion);
    return { nodeId: this.nodeId };
  }

  async ownerDelete(key: string, callerVersion?: number): Promise<{ nodeId: string; existed: boolean }> {
    this.checkKey(key);
    const existed = this.store.peek(key) !== undefined;
    await this.commitWrites([{ key, valueJson: 'null', ttlMs: 0, deleted: true }], callerVersion);
    return { nodeId: this.nodeId, existed };
  }

  /**
   * The fenced write path of a primary (single keys and batches):
   * 1. a node that has not confirmed its table lately (it was paused) confirms it first, and a
   *    write that queued up while the table changed is refused (421) instead of applied late;
   * 2. only the primary of each key's partition under the current table accepts it (else 421);
   * 3. each write is stamped (epoch = ring version, counter), sent to the replicas — which accept
   *    it only from the primary of THEIR current table — and stored here once the quorum holds it.
   */
  protected async commitWrites(
    writes: ReadonlyArray<{ key: string; valueJson: string; ttlMs: number; deleted: boolean }>,
    callerVersion: number | undefined,
  ): Promise<void> {
    await this.refuseIfCutOff(callerVersion);
    await this.passFence(writes);
    const epoch = this.tableValue.version;
    const byPartition = new Map<number, WireEntry[]>();
    const copies = writes.map((write) => {
      const partition = partitionOf(write.key, this.options.partitionCount);
      this.assertPrimary(partition);
      const copy = this.store.stamp(write.key, write.valueJson, write.ttlMs, epoch, write.deleted);
      pushTo(byPartition, partition, toWire(copy));
      return copy;
    });
    await this.replicateGroups(byPartition);
    for (const copy of copies) this.store.applyCopy(copy);
  }

  /** Waits, before a write, until no partition it touches is fenced (a new primary, see OwnershipFence). */
  private async passFence(writes: ReadonlyArray<{ key: string }>): Promise<void> {
    const fenced = () =>
      writes.some((write) => this.fence.guards(partitionOf(write.key, this.options.partitionCount)));
    // Again after each wait: a newer table may have fenced it anew meanwhile.
    while (fenced()) await this.fence.passed();
  }

  /**
   * A write that queued up on a paused node while the table changed is refused (421), never
   * forwarded late: applied now, it could overwrite a newer write acknowledged meanwhile.
   */
  protected async refuseIfCutOff(callerVersion?: number): Promise<void> {
    if (!this.tableIsFresh) await this.confirmTable();
    // A write forwarded under a table at least as new as the one that cut us off was sent after
    // the cluster knew: it did not queue up during the pause.
    const queuedUp = callerVersion === undefined || callerVersion < this.cutOffVersion;
    if (this.inCutOffQuarantine && queuedUp) {
      throw this.staleRing(
        `${this.nodeId} was cut off from the cluster (paused or partitioned) and refuses writes for ${this.cutOffQuarantineMs} ms`,
      );
    }
  }

  /**
   * Entries a node carried over from a cluster it left (a merge after a split brain), sent to their
   * primary here (POST /internal/migrate/merge). They keep their stamps: the primary keeps whichever
   * of its entry and the carried one is newer by (epoch, counter) and replicates what it took.
   */
  async mergeEntries(entries: readonly WireEntry[]): Promise<number> {
    await this.passFence(entries.map((entry) => ({ key: entry[0] })));
    const byPartition = new Map<number, WireEntry[]>();
    let taken = 0;
    for (const entry of entries) {
      const partition = partitionOf(entry[0], this.options.partitionCount);
      this.assertPrimary(partition);
      if (!this.store.applyCopy(fromWire(entry))) continue;
      taken++;
      pushTo(byPartition, partition, entry);
    }
    await this.replicateGroups(byPartition);
    return taken;
  }

  /** One replicate request per replica set (a batch touches many partitions with the same holders). */
  protected async replicateGroups(byPartition: Map<number, WireEntry[]>): Promise<void> {
    const byReplicaSet = new Map<string, { partition: number; entries: WireEntry[] }>();
    for (const [partition, entries] of byPartition) {
      const signature = (this.tableValue.owners[partition] ?? []).join('\u0000');
      const group = byReplicaSet.get(signature);
      if (group === undefined) byReplicaSet.set(signature, { partition, entries: [...entries] });
      else group.entries.push(...entries);
    }
    await Promise.all(
      [...byReplicaSet.values()].map((group) => this.replicate(group.partition, group.entries)),
    );
  }

  /**
   * Copies from a primary (POST /internal/replicate). Accepted only when, under this node's current
   * table (adopting the sender's first if it is newer), the sender is the primary of every entry's
   * partition and this node one of its holders; otherwise 421 and nothing is applied.
   */
  async acceptReplicas(
    sender: string,
    senderAddress: string | undefined,
    senderVersion: number,
    entries: readonly WireEntry[],
  ): Promise<number> {
    await this.catchUp(senderVersion, senderAddress);
    if (!this.tableIsFresh) await this.confirmTable();
    for (const entry of entries) {
      const holders = this.tableValue.owners[partitionOf(entry[0], this.options.partitionCount)] ?? [];
      if (holders[0] !== sender || !holders.includes(this.nodeId)) {
        throw this.staleRing(
          `${sender} is not the primary of ${JSON.stringify(entry[0])} at ring version ${this.tableValue.version}`,
        );
      }
    }
    return this.applyEntries(entries);
  }

  /** Sends entries of one partition to its replicas and waits for the write quorum. */
  protected async replicate(partition: number, entries: WireEntry[]): Promise<void> {
    const replicas = (this.tableValue.owners[partition] ?? []).filter((nodeId) => nodeId !== this.nodeId);
    if (replicas.length === 0) return;
    // A replica that misses the write (down, partitioned, fenced) leaves a hint: the repair
    // round brings it up to date once it answers again (hinted hand-off by partition).
    const sends = replicas.map((nodeId) =>
      this.sendEntries(nodeId, entries).catch((error: unknown) => {
        this.hintedPartitions.add(partition);
        throw error;
      }),
    );
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
