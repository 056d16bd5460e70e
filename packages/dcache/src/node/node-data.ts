import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { partitionOf } from '../core/hash';
import type { StoreEntry } from '../core/store';
import type { ReadResult } from './node-options';
import { NodeState } from './node-state';
import { LOCAL_ONLY_HEADER, type PeerResponse } from './peer-client';
import { encodeKey, isWireEntry, toWire, type WireEntry } from './wire-entry';

/**
 * Single-key operations: forwarding from any node to the owner, the owner side (with migration
 * fallback reads), replication to the write quorum, and the wire copies replication and migration move.
 */
export abstract class NodeData extends NodeState {
  /**
   * Calls the node that owns `key` for an internal operation. On a stale-ring answer (421) it adopts
   * the newer table and retries once at the key's primary under that table.
   */
  protected async callOwner(nodeId: string, method: 'GET' | 'PUT' | 'DELETE', key: string, body?: unknown) {
    const address = this.addressOf(nodeId);
    const path = `/internal/cache/${encodeKey(key)}`;
    const response = await this.peers.call(address, method, path, { body, headers: this.internalHeaders() });
    if (response.statusCode !== 421) return response;
    await this.refreshTableFrom(address);
    const primary = this.holdersOf(key).holders[0] ?? nodeId;
    return this.peers.call(this.addressOf(primary), method, path, { body, headers: this.internalHeaders() });
  }

  async get(key: string, raw = false): Promise<ReadResult> {
    const { holders } = this.holdersOf(key);
    let lastError: unknown;
    for (const [index, nodeId] of holders.entries()) {
      if (nodeId === this.nodeId) return this.ownerGet(key);
      try {
        this.counters.forwards++;
        if (raw) {
          // Hot path: the owner's body already has the client format; pass its bytes through.
          const address = this.addressOf(nodeId);
          const path = `/internal/cache/${encodeKey(key)}`;
          let answer = await this.peers.callRaw(address, 'GET', path, { headers: this.internalHeaders() });
          if (answer.statusCode === 421) {
            await this.refreshTableFrom(address);
            answer = await this.peers.callRaw(address, 'GET', path, { headers: this.internalHeaders() });
          }
          if (index > 0) this.counters.replicaFallbacks++;
          if (answer.statusCode === 200 || answer.statusCode === 404) {
            return { found: answer.statusCode === 200, valueJson: '', nodeId, rawBody: answer.text };
          }
          throw new DcacheError(
            DCACHE_ERROR_CODES.FORWARD_FAILED,
            `node ${nodeId} answered ${answer.statusCode}`,
          );
        }
        const response = await this.callOwner(nodeId, 'GET', key);
        if (index > 0) this.counters.replicaFallbacks++;
        return this.readResultFrom(response, nodeId);
      } catch (error) {
        if (error instanceof DcacheError) throw error;
        this.counters.forwardFailures++;
        lastError = error;
      }
    }
    throw new DcacheError(
      DCACHE_ERROR_CODES.FORWARD_FAILED,
      `no holder of key answered: ${String(lastError)}`,
      {
        cause: lastError,
      },
    );
  }

  protected readResultFrom(response: PeerResponse, nodeId: string): ReadResult {
    const body = response.body as { found?: unknown; value?: unknown; node_id?: unknown } | undefined;
    if (body === undefined || typeof body !== 'object' || typeof body.found !== 'boolean') {
      throw new DcacheError(
        DCACHE_ERROR_CODES.DECODE_FAILED,
        `undecodable answer from ${nodeId} (${response.statusCode})`,
      );
    }
    if (response.statusCode >= 500) {
      throw new DcacheError(
        DCACHE_ERROR_CODES.FORWARD_FAILED,
        `node ${nodeId} answered ${response.statusCode}`,
      );
    }
    return {
      found: body.found,
      valueJson: body.found ? JSON.stringify(body.value) : 'null',
      nodeId: typeof body.node_id === 'string' ? body.node_id : nodeId,
    };
  }

  async set(key: string, valueJson: string, ttlMs = 0): Promise<{ nodeId: string }> {
    this.checkValue(key, valueJson);
    const [primary] = this.holdersOf(key).holders;
    if (primary === undefined || primary === this.nodeId) return this.ownerSet(key, valueJson, ttlMs);
    // The stored JSON is spliced in as `value`: no re-parse here, and the owner validates it as JSON.
    const response = await this.forwardWrite(primary, 'PUT', key, `{"value":${valueJson},"ttl_ms":${ttlMs}}`);
    return { nodeId: (response.body as { node_id?: string }).node_id ?? primary };
  }

  async delete(key: string): Promise<{ nodeId: string; existed: boolean }> {
    this.checkKey(key);
    const [primary] = this.holdersOf(key).holders;
    if (primary === undefined || primary === this.nodeId) return this.ownerDelete(key);
    const response = await this.forwardWrite(primary, 'DELETE', key);
    const body = response.body as { node_id?: string; existed?: boolean };
    return { nodeId: body.node_id ?? primary, existed: body.existed ?? true };
  }

  protected async forwardWrite(primary: string, method: 'PUT' | 'DELETE', key: string, body?: unknown) {
    this.counters.forwards++;
    let response: PeerResponse;
    try {
      response = await this.callOwner(primary, method, key, body);
    } catch (error) {
      if (error instanceof DcacheError) throw error;
      this.counters.forwardFailures++;
      throw new DcacheError(
        DCACHE_ERROR_CODES.FORWARD_FAILED,
        `forward to ${primary} failed: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    if (response.statusCode !== 200) {
      const remote = response.body as { error?: string; message?: string } | undefined;
      throw new DcacheError(
        remote?.error === 'cache_error' ? DCACHE_ERROR_CODES.CACHE_ERROR : DCACHE_ERROR_CODES.FORWARD_FAILED,
        `node ${primary} answered ${response.statusCode}: ${remote?.message ?? ''}`,
      );
    }
    return response;
  }

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
        if (address === undefined || this.health.get(nodeId)?.status === 'unhealthy') return undefined;
        const response = await this.peers.call(address, 'GET', `/internal/cache/${encodeKey(key)}`, {
          headers: { [LOCAL_ONLY_HEADER]: '1' },
          timeoutMs: this.options.probeTimeoutMs * 2,
        });
        const entry = (response.body as { entry?: unknown } | undefined)?.entry;
        return isWireEntry(entry) ? entry : undefined;
      }),
    );
    let best: WireEntry | undefined;
    for (const answer of answers) {
      if (answer.status === 'fulfilled' && answer.value !== undefined) {
        if (best === undefined || answer.value[2] > best[2]) best = answer.value;
      }
    }
    if (best === undefined) return undefined;
    this.applyWire(best);
    return this.store.peekAny(key);
  }

  protected applyWire(entry: WireEntry): boolean {
    return this.store.applyCopy({
      key: entry[0],
      valueJson: entry[1],
      version: entry[2],
      expiresAt: entry[3],
      deleted: entry[4] === 1,
    });
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
    const copies = replicas.length + 1;
    const needed = Math.min(this.options.writeQuorum, copies) - 1;
    const sends = replicas.map((nodeId) => this.sendEntries(nodeId, entries));
    if (needed <= 0) {
      for (const send of sends) send.catch(() => undefined);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      let acknowledged = 0;
      let failed = 0;
      for (const send of sends) {
        send.then(
          () => {
            acknowledged++;
            if (acknowledged === needed) resolve();
          },
          (error: unknown) => {
            failed++;
            if (replicas.length - failed < needed) {
              reject(
                new DcacheError(
                  DCACHE_ERROR_CODES.QUORUM_FAILED,
                  `write quorum ${needed + 1} not reached: ${String(error)}`,
                  { cause: error },
                ),
              );
            }
          },
        );
      }
    });
  }

  protected async sendEntries(nodeId: string, entries: WireEntry[]): Promise<void> {
    const address = this.addressOf(nodeId);
    const response = await this.peers.call(address, 'POST', '/internal/replicate', {
      body: { entries },
      headers: this.internalHeaders(),
    });
    if (response.statusCode !== 200) throw new Error(`replicate to ${nodeId}: ${response.statusCode}`);
  }

  /** Applies copies sent by a primary or a migration; returns how many were newer. */
  applyEntries(entries: unknown[]): number {
    let applied = 0;
    for (const entry of entries) {
      if (!isWireEntry(entry)) throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, 'malformed entry');
      if (this.applyWire(entry)) applied++;
    }
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
