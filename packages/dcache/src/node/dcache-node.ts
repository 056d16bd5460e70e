import { type Clock, pollUntil, sleep, type TimerHandle } from '@kvforge/runtime';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { partitionOf } from '../core/hash';
import {
  assignTable,
  isNewerIdentity,
  isNewerTable,
  type Member,
  memberAddress,
  type PartitionTable,
  type TableLayout,
  tableIdentity,
} from '../core/partition-table';
import { type StoreEntry, VersionedStore } from '../core/store';
import { checkedTable } from '../core/table-validation';
import { outranks } from './cluster-rank';
import {
  type DcacheNodeOptions,
  DEFAULT_DCACHE_NODE_OPTIONS,
  type MemberHealth,
  type MigrationStats,
  type NodeCounters,
  type NodeStatus,
  type ReadResult,
} from './node-options';
import {
  HOPS_HEADER,
  LOCAL_ONLY_HEADER,
  PeerClient,
  type PeerResponse,
  RING_VERSION_HEADER,
} from './peer-client';
import { encodeKey, groupByPartition, isWireEntry, toWire, type WireEntry } from './wire-entry';

/**
 * One dcache node: the local store, the versioned partition table, forwarding, replication,
 * membership with failure detection, and pull-based online migration. No HTTP server here: the
 * fastify plugin in `http/` exposes it.
 */
export class DcacheNode {
  readonly options: DcacheNodeOptions;
  readonly store: VersionedStore;
  readonly peers: PeerClient;
  readonly startedAt: number;
  private readonly clock: Clock;
  private tableValue: PartitionTable;
  /** Tables seen since the last completed migration: where incoming partitions may still be found. */
  private sourceTables: TableLayout[] = [];
  private readonly incoming = new Set<number>();
  private readonly notHeldSince = new Map<number, number>();
  readonly health = new Map<string, MemberHealth>();
  readonly counters: NodeCounters = {
    forwards: 0,
    forwardFailures: 0,
    replicaFallbacks: 0,
    migrationFallbackReads: 0,
  };
  readonly migration: MigrationStats = {
    migratedKeys: 0,
    durationMs: 0,
    lastMigration: 0,
    running: false,
    pendingPartitions: 0,
    migrations: 0,
  };
  private migrationLoop: Promise<void> | undefined;
  private probeTimer: TimerHandle | undefined;
  private probing = false;
  private joined = false;
  private joinStartedAt = 0;
  private stopped = false;
  private leaving = false;
  lastMembershipChange: number;

  constructor(options: Partial<DcacheNodeOptions> & Pick<DcacheNodeOptions, 'nodeId' | 'address'>) {
    this.options = { ...DEFAULT_DCACHE_NODE_OPTIONS, ...options };
    this.clock = this.options.clock;
    this.store = new VersionedStore({
      maxBytes: this.options.maxMemoryBytes,
      partitionCount: this.options.partitionCount,
      clock: this.options.clock,
    });
    this.peers = new PeerClient({
      requestTimeoutMs: this.options.requestTimeoutMs,
      ...(this.options.clusterToken === undefined ? {} : { clusterToken: this.options.clusterToken }),
    });
    this.startedAt = this.clock.now();
    this.lastMembershipChange = this.startedAt;
    // Alone: version 1. With seeds: version 0, so any real cluster table wins over it.
    this.tableValue = assignTable(undefined, [this.self], {
      replicas: this.options.replicas,
      partitionCount: this.options.partitionCount,
      version: this.options.seeds.length === 0 && this.options.membership === 'seeds' ? 1 : 0,
      coordinator: this.options.nodeId,
    });
    this.joined = this.options.seeds.length === 0 && this.options.membership === 'seeds';
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  get self(): Member {
    return { nodeId: this.options.nodeId, address: this.options.address };
  }

  get table(): PartitionTable {
    return this.tableValue;
  }

  get isJoined(): boolean {
    return this.joined;
  }

  get isMigrating(): boolean {
    return this.incoming.size > 0 || this.migration.running;
  }

  /** Starts failure detection and, with seeds, the join. */
  start(): void {
    this.joinStartedAt = this.clock.now();
    this.scheduleTick();
    if (!this.joined && this.options.membership === 'seeds') void this.tryJoin();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.probeTimer) this.clock.clearTimeout(this.probeTimer);
    await this.migrationLoop?.catch(() => undefined);
    await this.peers.close();
  }

  // ---------------------------------------------------------------- routing

  holdersOf(key: string): { partition: number; holders: string[] } {
    const partition = partitionOf(key, this.options.partitionCount);
    return { partition, holders: this.tableValue.owners[partition] ?? [] };
  }

  private addressOf(nodeId: string): string {
    const address = memberAddress(this.tableValue, nodeId);
    if (address === undefined)
      throw new DcacheError(DCACHE_ERROR_CODES.NODE_NOT_FOUND, `node ${nodeId} is not in the ring`);
    return address;
  }

  private internalHeaders(): Record<string, string> {
    return { [RING_VERSION_HEADER]: String(this.tableValue.version), [HOPS_HEADER]: '1' };
  }

  /** Adopts a peer's newer table after it told us ours is stale. */
  private async refreshTableFrom(address: string): Promise<void> {
    const response = await this.peers.call(address, 'GET', '/internal/cluster/table', {
      timeoutMs: this.options.requestTimeoutMs,
    });
    if (response.statusCode === 200) this.installTable(response.body as PartitionTable);
  }

  /**
   * Calls the node that owns `key` for an internal operation. On a stale-ring answer (421) it adopts
   * the newer table and retries once at the key's primary under that table.
   */
  private async callOwner(nodeId: string, method: 'GET' | 'PUT' | 'DELETE', key: string, body?: unknown) {
    const address = this.addressOf(nodeId);
    const path = `/internal/cache/${encodeKey(key)}`;
    const response = await this.peers.call(address, method, path, { body, headers: this.internalHeaders() });
    if (response.statusCode !== 421) return response;
    await this.refreshTableFrom(address);
    const primary = this.holdersOf(key).holders[0] ?? nodeId;
    return this.peers.call(this.addressOf(primary), method, path, { body, headers: this.internalHeaders() });
  }

  // ---------------------------------------------------------------- client operations (any node)

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

  private readResultFrom(response: PeerResponse, nodeId: string): ReadResult {
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
    const response = await this.forwardWrite(primary, 'PUT', key, { value_json: valueJson, ttl_ms: ttlMs });
    return { nodeId: (response.body as { node_id?: string }).node_id ?? primary };
  }

  async delete(key: string): Promise<{ nodeId: string; existed: boolean }> {
    if (key.length === 0) throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, 'key must not be empty');
    const [primary] = this.holdersOf(key).holders;
    if (primary === undefined || primary === this.nodeId) return this.ownerDelete(key);
    const response = await this.forwardWrite(primary, 'DELETE', key);
    const body = response.body as { node_id?: string; existed?: boolean };
    return { nodeId: body.node_id ?? primary, existed: body.existed ?? true };
  }

  private async forwardWrite(primary: string, method: 'PUT' | 'DELETE', key: string, body?: unknown) {
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
    if (key.length === 0) throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, 'key must not be empty');
    if (Buffer.byteLength(valueJson) > this.options.maxValueBytes) {
      throw new DcacheError(
        DCACHE_ERROR_CODES.VALUE_TOO_LARGE,
        `value is larger than ${this.options.maxValueBytes} bytes`,
      );
    }
  }

  // ---------------------------------------------------------------- owner-side operations

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

  private sourcesOf(partition: number): string[] {
    const sources = new Set<string>();
    for (const table of this.sourceTables) {
      for (const nodeId of table.owners[partition] ?? []) if (nodeId !== this.nodeId) sources.add(nodeId);
    }
    for (const nodeId of this.tableValue.owners[partition] ?? [])
      if (nodeId !== this.nodeId) sources.add(nodeId);
    return [...sources];
  }

  private sourceAddress(nodeId: string): string | undefined {
    for (const table of [this.tableValue, ...this.sourceTables]) {
      for (const member of table.members) if (member.nodeId === nodeId) return member.address;
    }
    return undefined;
  }

  private async readFromSources(partition: number, key: string): Promise<StoreEntry | undefined> {
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

  private applyWire(entry: WireEntry): boolean {
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
  private async replicate(partition: number, entries: WireEntry[]): Promise<void> {
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

  private async sendEntries(nodeId: string, entries: WireEntry[]): Promise<void> {
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

  // ---------------------------------------------------------------- batches

  async batchGet(keys: readonly string[]): Promise<Array<{ key: string } & ReadResult>> {
    const results = new Array<{ key: string } & ReadResult>(keys.length);
    const groups = this.groupByPrimary(keys);
    await Promise.all(
      [...groups].map(async ([primary, indexes]) => {
        if (primary === this.nodeId) {
          for (const index of indexes)
            results[index] = { key: keys[index]!, ...(await this.ownerGet(keys[index]!)) };
          return;
        }
        try {
          this.counters.forwards++;
          const response = await this.peers.call(this.addressOf(primary), 'POST', '/internal/batch/get', {
            body: { keys: indexes.map((index) => keys[index]) },
            headers: this.internalHeaders(),
          });
          const remote = (
            response.body as { results?: Array<{ found: boolean; value: unknown; node_id: string }> }
          )?.results;
          if (response.statusCode !== 200 || !Array.isArray(remote) || remote.length !== indexes.length) {
            throw new DcacheError(DCACHE_ERROR_CODES.DECODE_FAILED, `bad batch answer from ${primary}`);
          }
          for (const [position, index] of indexes.entries()) {
            const item = remote[position]!;
            results[index] = {
              key: keys[index]!,
              found: item.found,
              valueJson: item.found ? JSON.stringify(item.value) : 'null',
              nodeId: item.node_id,
            };
          }
        } catch {
          // The owner is unreachable or confused: per-key reads fall back to replicas.
          for (const index of indexes)
            results[index] = { key: keys[index]!, ...(await this.get(keys[index]!)) };
        }
      }),
    );
    return results;
  }

  async batchSet(items: ReadonlyArray<{ key: string; valueJson: string; ttlMs: number }>): Promise<string[]> {
    for (const item of items) this.checkValue(item.key, item.valueJson);
    const nodeIds = new Array<string>(items.length);
    const groups = this.groupByPrimary(items.map((item) => item.key));
    await Promise.all(
      [...groups].map(async ([primary, indexes]) => {
        const group = indexes.map((index) => items[index]!);
        if (primary === this.nodeId) await this.ownerBatchSet(group);
        else {
          this.counters.forwards++;
          await this.forwardBatch(primary, '/internal/batch/set', {
            items: group.map((item) => ({ key: item.key, value_json: item.valueJson, ttl_ms: item.ttlMs })),
          });
        }
        for (const index of indexes) nodeIds[index] = primary;
      }),
    );
    return nodeIds;
  }

  async batchDelete(keys: readonly string[]): Promise<string[]> {
    for (const key of keys)
      if (key.length === 0)
        throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, 'key must not be empty');
    const nodeIds = new Array<string>(keys.length);
    const groups = this.groupByPrimary(keys);
    await Promise.all(
      [...groups].map(async ([primary, indexes]) => {
        const group = indexes.map((index) => keys[index]!);
        if (primary === this.nodeId) await this.ownerBatchDelete(group);
        else {
          this.counters.forwards++;
          await this.forwardBatch(primary, '/internal/batch/delete', { keys: group });
        }
        for (const index of indexes) nodeIds[index] = primary;
      }),
    );
    return nodeIds;
  }

  private async forwardBatch(primary: string, path: string, body: unknown): Promise<void> {
    let response: PeerResponse;
    try {
      response = await this.peers.call(this.addressOf(primary), 'POST', path, {
        body,
        headers: this.internalHeaders(),
      });
    } catch (error) {
      this.counters.forwardFailures++;
      throw new DcacheError(
        DCACHE_ERROR_CODES.FORWARD_FAILED,
        `forward to ${primary} failed: ${String(error)}`,
      );
    }
    if (response.statusCode !== 200) {
      throw new DcacheError(
        DCACHE_ERROR_CODES.FORWARD_FAILED,
        `node ${primary} answered ${response.statusCode}`,
      );
    }
  }

  private groupByPrimary(keys: readonly string[]): Map<string, number[]> {
    const groups = new Map<string, number[]>();
    for (const [index, key] of keys.entries()) {
      const primary = this.holdersOf(key).holders[0] ?? this.nodeId;
      let group = groups.get(primary);
      if (group === undefined) {
        group = [];
        groups.set(primary, group);
      }
      group.push(index);
    }
    return groups;
  }

  async ownerBatchGet(keys: readonly string[]): Promise<ReadResult[]> {
    return Promise.all(keys.map((key) => this.ownerGet(key)));
  }

  async ownerBatchSet(
    items: ReadonlyArray<{ key: string; valueJson: string; ttlMs: number }>,
  ): Promise<void> {
    const entries = items.map((item) => {
      this.checkValue(item.key, item.valueJson);
      return this.store.set(item.key, item.valueJson, item.ttlMs);
    });
    const byPartition = groupByPartition(entries);
    await this.replicateGroups(byPartition);
  }

  async ownerBatchDelete(keys: readonly string[]): Promise<void> {
    const entries = keys.map((key) => {
      this.store.delete(key);
      return this.store.peekAny(key)!;
    });
    const byPartition = groupByPartition(entries);
    await this.replicateGroups(byPartition);
  }

  /** One replicate request per replica node for a whole batch. */
  private async replicateGroups(byPartition: Map<number, WireEntry[]>): Promise<void> {
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

  // ---------------------------------------------------------------- ring / membership

  /** Installs a table if it is newer; starts pulling the partitions this node newly holds. */
  installTable(input: unknown): boolean {
    // Checked before anything changes: a malformed table must never replace a working one.
    const candidate = checkedTable(input, this.options.partitionCount);
    if (!isNewerTable(candidate, this.tableValue)) return false;
    const previous = this.tableValue;
    this.tableValue = candidate;
    this.lastMembershipChange = this.clock.now();
    const inNew = candidate.members.some((member) => member.nodeId === this.nodeId);
    if (inNew) this.joined = true;
    // A node that was not a member (fresh join, rejoin after a crash) held nothing valid before.
    const wasMember =
      previous.version > 0 && previous.members.some((member) => member.nodeId === this.nodeId);
    this.sourceTables.push({ members: previous.members, owners: previous.owners });
    if (candidate.previous !== undefined) this.sourceTables.push(candidate.previous);
    for (let partition = 0; partition < candidate.partitionCount; partition++) {
      const holdsNow = candidate.owners[partition]!.includes(this.nodeId);
      const heldBefore = wasMember && previous.owners[partition]!.includes(this.nodeId);
      if (holdsNow && !heldBefore) this.incoming.add(partition);
      if (!holdsNow) {
        this.incoming.delete(partition);
        if (!this.notHeldSince.has(partition)) this.notHeldSince.set(partition, this.clock.now());
      } else this.notHeldSince.delete(partition);
    }
    for (const member of candidate.members) {
      if (member.nodeId !== this.nodeId && !this.health.has(member.nodeId)) {
        this.health.set(member.nodeId, {
          status: 'healthy',
          lastSeen: 0,
          responseTimeMs: 0,
          suspectSince: 0,
        });
      }
    }
    for (const nodeId of [...this.health.keys()]) {
      if (!candidate.members.some((member) => member.nodeId === nodeId)) this.health.delete(nodeId);
    }
    this.options.logger.info(
      { ringVersion: candidate.version, members: candidate.members.length, incoming: this.incoming.size },
      'partition table installed',
    );
    this.startMigration();
    return true;
  }

  /** The coordinator is the lowest node id not considered dead by this node. */
  coordinatorId(): string {
    for (const member of this.tableValue.members) {
      if (member.nodeId === this.nodeId) return member.nodeId;
      const state = this.health.get(member.nodeId);
      if (state === undefined || state.status === 'healthy') return member.nodeId;
    }
    return this.nodeId;
  }

  /** The table an external membership should publish for `members` (sticky on the current table). */
  proposeTable(members: Member[], version: number): PartitionTable {
    const base = this.tableValue.version === 0 ? undefined : this.tableValue;
    return this.nextTable(
      members,
      base ?? this.tableValue,
      version - this.tableValue.version,
      base === undefined,
    );
  }

  private nextTable(
    members: Member[],
    base: PartitionTable = this.tableValue,
    bump = 1,
    fresh = false,
  ): PartitionTable {
    const next = assignTable(fresh ? undefined : base, members, {
      replicas: this.options.replicas,
      partitionCount: this.options.partitionCount,
      version: this.tableValue.version + bump,
      coordinator: this.nodeId,
    });
    // Where the data is now: the current holders (and, for a rejoin, those of the interim table).
    const current = this.tableValue;
    const known = [...current.members];
    for (const member of base.members)
      if (!known.some((other) => other.nodeId === member.nodeId)) known.push(member);
    const owners = current.owners.map((holders, partition) => {
      const union = [...holders];
      for (const nodeId of base.owners[partition] ?? []) if (!union.includes(nodeId)) union.push(nodeId);
      return union;
    });
    next.previous = { members: known, owners };
    return next;
  }

  /**
   * Join of `member` (spec: POST /internal/cluster/join): the coordinator builds and pushes the new
   * table. `callerVersion` is the ring version the joiner runs: the new table goes above it, so the
   * members of a cluster the joiner leaves (a merge) adopt the new table from it instead of pulling
   * it back.
   */
  async handleJoin(member: Member, callerVersion = 0): Promise<PartitionTable> {
    if (this.options.membership !== 'seeds') {
      throw new DcacheError(DCACHE_ERROR_CODES.ADD_NODE, 'membership is managed externally (etcd)');
    }
    // A node still joining must not found a second cluster by accepting joins: the joiner tries
    // its next seed (or, if it is the lowest seed, bootstraps the one cluster).
    if (!this.joined)
      throw new DcacheError(DCACHE_ERROR_CODES.ADD_NODE, `${this.nodeId} has not joined a cluster yet`);
    const coordinator = this.coordinatorId();
    // A stale view may still list the joiner as our coordinator: it is busy joining, so act as one.
    if (coordinator !== this.nodeId && coordinator !== member.nodeId) {
      try {
        const response = await this.peers.call(
          this.addressOf(coordinator),
          'POST',
          '/internal/cluster/join',
          { body: { node_id: member.nodeId, address: member.address, ring_version: callerVersion } },
        );
        if (response.statusCode === 200) {
          const table = (response.body as { table: PartitionTable }).table;
          this.installTable(table);
          return table;
        }
      } catch {
        // The coordinator is unreachable: act as one (the table version settles it).
      }
    }
    const others = this.tableValue.members.filter((existing) => existing.nodeId !== member.nodeId);
    const lift = Math.max(0, callerVersion - this.tableValue.version);
    // A rejoining node restarted empty: drop it first so its partitions count as lost, then add it back.
    const without =
      others.length === this.tableValue.members.length ? this.tableValue : this.nextTable(others);
    const next = this.nextTable([...others, member], without, (without === this.tableValue ? 1 : 2) + lift);
    this.installTable(next);
    this.health.set(member.nodeId, {
      status: 'healthy',
      lastSeen: this.clock.now(),
      responseTimeMs: 0,
      suspectSince: 0,
    });
    this.broadcastTable();
    return next;
  }

  /** Leave of `nodeId` (spec: POST /internal/cluster/leave) or removal of a dead node. */
  async handleLeave(nodeId: string): Promise<PartitionTable> {
    if (!this.tableValue.members.some((member) => member.nodeId === nodeId)) {
      throw new DcacheError(DCACHE_ERROR_CODES.NODE_NOT_FOUND, `node ${nodeId} is not in the ring`);
    }
    if (this.options.membership !== 'seeds') {
      throw new DcacheError(DCACHE_ERROR_CODES.REMOVE_NODE, 'membership is managed externally (etcd)');
    }
    const coordinator = this.coordinatorId();
    if (coordinator !== this.nodeId && coordinator !== nodeId) {
      try {
        const response = await this.peers.call(
          this.addressOf(coordinator),
          'POST',
          '/internal/cluster/leave',
          {
            body: { node_id: nodeId },
          },
        );
        if (response.statusCode === 200) return (response.body as { table: PartitionTable }).table;
      } catch {
        // act as coordinator
      }
    }
    const remaining = this.tableValue.members.filter((member) => member.nodeId !== nodeId);
    if (remaining.length === 0)
      throw new DcacheError(DCACHE_ERROR_CODES.REMOVE_NODE, 'cannot remove the last node');
    const next = this.nextTable(remaining);
    this.installTable(next);
    this.broadcastTable(nodeId);
    return next;
  }

  /** Recomputes the balanced table from the live members (POST /admin/cluster/rebalance). */
  async rebalance(): Promise<{ ringVersion: number; movedPartitions: number }> {
    if (this.options.membership !== 'seeds') {
      // etcd publishes balanced tables on every membership change; only wait for the moves.
      await this.waitForClusterSettled(this.options.leaveTimeoutMs);
      return { ringVersion: this.tableValue.version, movedPartitions: 0 };
    }
    const coordinator = this.coordinatorId();
    if (coordinator !== this.nodeId) {
      const response = await this.peers.call(
        this.addressOf(coordinator),
        'POST',
        '/admin/cluster/rebalance',
        {
          timeoutMs: this.options.leaveTimeoutMs,
        },
      );
      const body = response.body as { ring_version?: number; moved_partitions?: number };
      return {
        ringVersion: body.ring_version ?? this.tableValue.version,
        movedPartitions: body.moved_partitions ?? 0,
      };
    }
    const live = this.tableValue.members.filter(
      (member) => member.nodeId === this.nodeId || this.health.get(member.nodeId)?.status !== 'unhealthy',
    );
    const next = this.nextTable(live);
    let moved = 0;
    for (let partition = 0; partition < next.partitionCount; partition++) {
      const before = this.tableValue.owners[partition]!;
      moved += next.owners[partition]!.filter((nodeId) => !before.includes(nodeId)).length;
    }
    if (moved > 0 || live.length !== this.tableValue.members.length) {
      this.installTable(next);
      this.broadcastTable();
    }
    await this.waitForClusterSettled(this.options.leaveTimeoutMs);
    return { ringVersion: this.tableValue.version, movedPartitions: moved };
  }

  private broadcastTable(alsoNodeId?: string): void {
    const table = this.tableValue;
    const targets = table.members.filter((member) => member.nodeId !== this.nodeId);
    if (alsoNodeId !== undefined && alsoNodeId !== this.nodeId) {
      const address = this.sourceAddress(alsoNodeId);
      if (address !== undefined) targets.push({ nodeId: alsoNodeId, address });
    }
    for (const target of targets) {
      this.peers
        .call(target.address, 'POST', '/internal/cluster/table', {
          body: table,
          timeoutMs: this.options.requestTimeoutMs,
        })
        .catch(() => undefined); // probes re-push to anyone left behind
    }
  }

  /** The join request body: who we are and the ring version we run (the coordinator goes above it). */
  private joinBody(): { node_id: string; address: string; ring_version: number } {
    return { node_id: this.nodeId, address: this.options.address, ring_version: this.tableValue.version };
  }

  private async tryJoin(): Promise<void> {
    while (!this.joined && !this.stopped) {
      for (const seed of this.options.seeds) {
        if (seed === this.options.address) continue;
        try {
          const response = await this.peers.call(seed, 'POST', '/internal/cluster/join', {
            body: this.joinBody(),
            timeoutMs: this.options.requestTimeoutMs,
          });
          // A seed that has not joined a cluster itself refuses (see handleJoin): try the next one.
          if (response.statusCode === 200) {
            this.installTable((response.body as { table: PartitionTable }).table);
            if (this.joined) return;
          }
        } catch {
          // try the next seed
        }
      }
      const lowest = [...this.options.seeds, this.options.address].sort()[0];
      const waited = this.clock.now() - this.joinStartedAt;
      if (lowest === this.options.address || waited >= this.options.bootstrapTimeoutMs) {
        // Bootstrap: this node founds the cluster; the others join it (or merge into it later).
        this.installTable(this.nextTable([this.self]));
        this.joined = true;
        this.options.logger.info({ ringVersion: this.tableValue.version }, 'bootstrapped a new cluster');
        return;
      }
      await sleep(Math.min(500, this.options.probeIntervalMs), { clock: this.clock });
    }
  }

  /**
   * Split-brain repair, run on every probe round. Nodes started at the same time (or a node that
   * bootstrapped alone because its seeds were slow) can end in separate clusters. For every seed
   * that is not a member of our ring, we read its table; when it runs another cluster that outranks
   * ours (`outranks`: more members, then the lexicographically smaller lowest node id), this node
   * joins that cluster. The rank is the same function on both sides, so exactly one side moves, and
   * every move makes the winner bigger: any set of clusters with overlapping seeds ends as one.
   */
  private async mergeWithSeedClusters(): Promise<void> {
    const ours = this.tableValue;
    for (const seed of this.options.seeds) {
      if (seed === this.options.address || ours.members.some((member) => member.address === seed)) continue;
      let theirs: PartitionTable | undefined;
      try {
        const found = await this.peers.call(seed, 'GET', '/internal/cluster/table', {
          timeoutMs: this.options.probeTimeoutMs,
        });
        if (found.statusCode === 200) theirs = found.body as PartitionTable;
      } catch {
        continue; // the seed is down
      }
      if (theirs === undefined || !Array.isArray(theirs.members) || theirs.version === 0) continue;
      if (theirs.members.some((member) => member.nodeId === this.nodeId)) continue;
      if (!outranks(theirs.members, ours.members)) continue;
      if (await this.joinOtherCluster([seed], 'merging into the bigger cluster of a seed')) return;
    }
  }

  /**
   * A running node that finds itself outside its own ring (declared dead during a pause, or its
   * cluster merged into another) joins again through the members of that ring.
   */
  private async rejoinIfRemoved(): Promise<void> {
    if (this.tableValue.members.some((member) => member.nodeId === this.nodeId)) return;
    const addresses = [
      ...this.tableValue.members.map((member) => member.address),
      ...this.options.seeds.filter((seed) => seed !== this.options.address),
    ];
    await this.joinOtherCluster(addresses, 'not a member of the ring any more: joining again');
  }

  /**
   * Joins the cluster one of `addresses` belongs to, leaving the current one. What this node
   * stored for its old cluster is dropped: those versions are not comparable with the new
   * cluster's, and its partitions are pulled from their new holders.
   */
  private async joinOtherCluster(addresses: readonly string[], reason: string): Promise<boolean> {
    for (const address of addresses) {
      try {
        const joined = await this.peers.call(address, 'POST', '/internal/cluster/join', {
          body: this.joinBody(),
          timeoutMs: this.options.requestTimeoutMs,
        });
        if (joined.statusCode !== 200) continue;
        this.options.logger.warn({ via: address }, reason);
        this.tableValue = assignTable(undefined, [this.self], {
          replicas: this.options.replicas,
          partitionCount: this.options.partitionCount,
          version: 0,
          coordinator: this.nodeId,
        });
        this.sourceTables = [];
        this.incoming.clear();
        this.notHeldSince.clear();
        for (let partition = 0; partition < this.options.partitionCount; partition++)
          this.store.dropPartition(partition);
        this.installTable((joined.body as { table: PartitionTable }).table);
        return true;
      } catch {
        // try the next address
      }
    }
    return false;
  }

  /** Graceful leave: the ring drops this node, then it waits until the others pulled its partitions. */
  async leave(): Promise<void> {
    if (this.leaving || this.tableValue.members.length <= 1) return;
    this.leaving = true;
    try {
      await this.handleLeave(this.nodeId);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'leave failed');
      return;
    }
    await this.waitForClusterSettled(this.options.leaveTimeoutMs);
  }

  /** Waits until every member runs this table version (or newer) and has no migration pending. */
  async waitForClusterSettled(timeoutMs: number): Promise<boolean> {
    const version = this.tableValue.version;
    const settled = async () => {
      const states = await Promise.allSettled(
        this.tableValue.members
          .filter((member) => member.nodeId !== this.nodeId)
          .map((member) =>
            this.peers.call(member.address, 'GET', '/internal/cluster/health', { timeoutMs: 1000 }),
          ),
      );
      const others = states.every((state) => {
        if (state.status === 'rejected') return true; // a dead peer cannot pull anything
        const body = state.value.body as { ring_version?: number; migrating?: boolean };
        return (body.ring_version ?? 0) >= version && body.migrating === false;
      });
      return others && !this.isMigrating;
    };
    return pollUntil(settled, {
      timeoutMs,
      intervalMs: 100,
      clock: this.clock,
      description: 'cluster settled',
    }).catch(() => false);
  }

  // ---------------------------------------------------------------- migration

  /** Waits until every reachable current or previous member runs `version` or newer. */
  private async waitForVersion(version: number, timeoutMs: number): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    const addresses = new Map<string, string>();
    for (const table of [this.tableValue, ...this.sourceTables]) {
      for (const member of table.members)
        if (member.nodeId !== this.nodeId) addresses.set(member.nodeId, member.address);
    }
    while (this.clock.now() < deadline && !this.stopped) {
      const answers = await Promise.allSettled(
        [...addresses].map(async ([nodeId, address]) => {
          if (this.health.get(nodeId)?.status === 'unhealthy') return true;
          const response = await this.peers.call(address, 'GET', '/internal/cluster/health', {
            timeoutMs: this.options.probeTimeoutMs,
          });
          return ((response.body as { ring_version?: number })?.ring_version ?? 0) >= version;
        }),
      );
      // A peer that does not answer is dead or gone: it accepts no writes either.
      if (answers.every((answer) => answer.status === 'rejected' || answer.value)) return;
      await sleep(20, { clock: this.clock });
    }
  }

  private startMigration(): void {
    if (this.migrationLoop !== undefined || this.incoming.size === 0) {
      this.migration.pendingPartitions = this.incoming.size;
      return;
    }
    this.migrationLoop = this.runMigration().finally(() => {
      this.migrationLoop = undefined;
      if (this.incoming.size > 0 && !this.stopped) this.startMigration();
    });
  }

  private async runMigration(): Promise<void> {
    const started = this.clock.now();
    this.migration.running = true;
    let migrated = 0;
    try {
      // Pull only once the previous holders run this table: from then on they forward writes for
      // the moved partitions here, so the pull sees every write they acknowledged. Until then reads
      // consult them (ownerGet).
      await this.waitForVersion(this.tableValue.version, this.options.requestTimeoutMs * 3);
      while (this.incoming.size > 0 && !this.stopped) {
        const batch = [...this.incoming].slice(0, this.options.migrationBatchPartitions);
        const bySource = new Map<string, number[]>();
        for (const partition of batch) {
          for (const nodeId of this.sourcesOf(partition)) {
            let list = bySource.get(nodeId);
            if (list === undefined) {
              list = [];
              bySource.set(nodeId, list);
            }
            list.push(partition);
          }
        }
        await Promise.all(
          [...bySource].map(async ([nodeId, partitions]) => {
            const address = this.sourceAddress(nodeId);
            if (address === undefined || this.health.get(nodeId)?.status === 'unhealthy') return;
            try {
              const response = await this.peers.call(address, 'POST', '/internal/migrate/fetch', {
                body: { partitions },
                timeoutMs: this.options.requestTimeoutMs * 5,
              });
              const entries = (response.body as { entries?: unknown[] } | undefined)?.entries;
              if (response.statusCode === 200 && Array.isArray(entries))
                migrated += this.applyEntries(entries);
            } catch (error) {
              // A dead source: its data survives on the other holders, which are sources too.
              this.options.logger.warn({ source: nodeId, err: String(error) }, 'migration fetch failed');
            }
          }),
        );
        for (const partition of batch) this.incoming.delete(partition);
        this.migration.pendingPartitions = this.incoming.size;
      }
    } finally {
      this.migration.running = false;
      this.migration.migratedKeys += migrated;
      this.migration.durationMs = this.clock.now() - started;
      this.migration.lastMigration = this.clock.now();
      this.migration.migrations++;
      if (this.incoming.size === 0) this.sourceTables = [];
      this.options.logger.info(
        { migratedKeys: migrated, durationMs: this.migration.durationMs },
        'migration finished',
      );
    }
  }

  // ---------------------------------------------------------------- failure detection

  /** One probe round per interval, on the node's clock; the next is scheduled when one ends. */
  private scheduleTick(): void {
    if (this.stopped) return;
    this.probeTimer = this.clock.setTimeout(() => {
      this.tick()
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'probe round failed'))
        .finally(() => this.scheduleTick());
    }, this.options.probeIntervalMs);
  }

  private async tick(): Promise<void> {
    if (this.probing || this.stopped) return;
    this.probing = true;
    try {
      this.store.sweepExpired(5000);
      this.dropStalePartitions();
      const others = this.tableValue.members.filter((member) => member.nodeId !== this.nodeId);
      await Promise.all(others.map((member) => this.probeMember(member)));
      if (!this.leaving) await this.removeDeadMembers();
      if (this.joined && !this.leaving && this.options.membership === 'seeds') {
        await this.rejoinIfRemoved();
        await this.mergeWithSeedClusters();
      }
    } finally {
      this.probing = false;
    }
  }

  private dropStalePartitions(): void {
    if (this.isMigrating) return;
    const now = this.clock.now();
    for (const [partition, since] of this.notHeldSince) {
      if (now - since < this.options.dropAfterMs) continue;
      this.store.dropPartition(partition);
      this.notHeldSince.delete(partition);
    }
  }

  /** A direct probe, then indirect ones through other members; syncs tables both ways. */
  async probeMember(member: Member): Promise<void> {
    const state = this.health.get(member.nodeId) ?? {
      status: 'healthy' as NodeStatus,
      lastSeen: 0,
      responseTimeMs: 0,
      suspectSince: 0,
    };
    this.health.set(member.nodeId, state);
    const started = this.clock.now();
    try {
      const response = await this.peers.call(member.address, 'GET', '/internal/cluster/health', {
        timeoutMs: this.options.probeTimeoutMs,
      });
      const body = response.body as
        | { ring_version?: number; ring_coordinator?: string; ring_members?: string; node_id?: string }
        | undefined;
      if (response.statusCode !== 200 || body?.node_id !== member.nodeId) throw new Error('bad probe answer');
      state.status = 'healthy';
      state.lastSeen = this.clock.now();
      state.responseTimeMs = state.lastSeen - started;
      state.suspectSince = 0;
      const ours = tableIdentity(this.tableValue);
      const theirs = {
        version: body.ring_version ?? 0,
        coordinator: body.ring_coordinator ?? ours.coordinator,
        fingerprint: body.ring_members ?? ours.fingerprint,
      };
      const peerNewer = isNewerIdentity(theirs, ours);
      const peerOlder = isNewerIdentity(ours, theirs);
      if (peerNewer) await this.refreshTableFrom(member.address).catch(() => undefined);
      else if (peerOlder) {
        await this.peers
          .call(member.address, 'POST', '/internal/cluster/table', { body: this.tableValue })
          .catch(() => undefined);
      }
      return;
    } catch {
      // fall through to indirect probes
    }
    if (await this.indirectProbe(member)) {
      state.status = 'healthy';
      state.lastSeen = this.clock.now();
      state.suspectSince = 0;
      return;
    }
    if (state.status === 'healthy') {
      state.status = 'suspect';
      state.suspectSince = this.clock.now();
      this.options.logger.warn({ node: member.nodeId }, 'node suspect');
    } else if (this.clock.now() - state.suspectSince >= this.options.deadAfterMs) {
      state.status = 'unhealthy';
    }
  }

  private async indirectProbe(member: Member): Promise<boolean> {
    const helpers = this.tableValue.members
      .filter(
        (other) =>
          other.nodeId !== this.nodeId &&
          other.nodeId !== member.nodeId &&
          this.health.get(other.nodeId)?.status === 'healthy',
      )
      .slice(0, this.options.indirectProbes);
    if (helpers.length === 0) return false;
    const answers = await Promise.allSettled(
      helpers.map((helper) =>
        this.peers.call(helper.address, 'POST', '/internal/cluster/probe', {
          body: { node_id: member.nodeId, address: member.address },
          timeoutMs: this.options.probeTimeoutMs * 2,
        }),
      ),
    );
    return answers.some(
      (answer) =>
        answer.status === 'fulfilled' && (answer.value.body as { reachable?: boolean })?.reachable === true,
    );
  }

  /** Answers an indirect probe request from a peer. */
  async probeFor(nodeId: string, address: string): Promise<boolean> {
    try {
      const response = await this.peers.call(address, 'GET', '/internal/cluster/health', {
        timeoutMs: this.options.probeTimeoutMs,
      });
      return response.statusCode === 200 && (response.body as { node_id?: string })?.node_id === nodeId;
    } catch {
      return false;
    }
  }

  private async removeDeadMembers(): Promise<void> {
    const dead = [...this.health]
      .filter(([, state]) => state.status === 'unhealthy')
      .map(([nodeId]) => nodeId);
    if (dead.length === 0 || this.coordinatorId() !== this.nodeId) return;
    const remaining = this.tableValue.members.filter((member) => !dead.includes(member.nodeId));
    if (remaining.length === this.tableValue.members.length) return;
    this.options.logger.warn({ dead }, 'removing dead nodes from the ring');
    this.installTable(this.nextTable(remaining));
    this.broadcastTable();
  }
}
