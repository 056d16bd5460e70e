import type { Clock, TimerHandle } from '@kvforge/runtime';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { partitionOf } from '../core/hash';
import { HOPS_HEADER, INTERNAL_PATHS, RING_VERSION_HEADER } from '../core/internal-api';
import {
  assignTable,
  isNewerTable,
  type Member,
  memberAddress,
  type PartitionTable,
  type TableLayout,
} from '../core/partition-table';
import { VersionedStore } from '../core/store';
import { planTable } from '../core/table-planner';
import { checkedTable } from '../core/table-validation';
import { FailureDetector } from './failure-detector';
import {
  type DcacheNodeOptions,
  DEFAULT_DCACHE_NODE_OPTIONS,
  type MemberHealth,
  type MigrationStats,
  type NodeCounters,
} from './node-options';
import { PeerClient } from './peer-client';

/**
 * The state every part of a node shares: options, store, peers, the versioned table and where
 * partitions come from, plus table installation (validated first) and the next-table computation.
 */
export abstract class NodeState {
  readonly options: DcacheNodeOptions;

  readonly store: VersionedStore;

  readonly peers: PeerClient;

  readonly startedAt: number;

  protected readonly clock: Clock;

  protected tableValue: PartitionTable;

  /** Tables seen since the last completed migration: where incoming partitions may still be found. */
  protected sourceTables: TableLayout[] = [];

  protected readonly incoming = new Set<number>();

  protected readonly notHeldSince = new Map<number, number>();

  readonly detector: FailureDetector;

  /** Every other member's health (the failure detector's view). */
  get health(): ReadonlyMap<string, MemberHealth> {
    return this.detector.health;
  }

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

  protected migrationLoop: Promise<void> | undefined;

  protected probeTimer: TimerHandle | undefined;

  protected probing = false;

  protected joined = false;

  protected joinStartedAt = 0;

  protected stopped = false;

  protected leaving = false;

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
    this.detector = new FailureDetector(this.clock, this.options.deadAfterMs, this.options.logger);
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

  holdersOf(key: string): { partition: number; holders: string[] } {
    const partition = partitionOf(key, this.options.partitionCount);
    return { partition, holders: this.tableValue.owners[partition] ?? [] };
  }

  protected addressOf(nodeId: string): string {
    const address = memberAddress(this.tableValue, nodeId);
    if (address === undefined)
      throw new DcacheError(DCACHE_ERROR_CODES.NODE_NOT_FOUND, `node ${nodeId} is not in the ring`);
    return address;
  }

  protected internalHeaders(): Record<string, string> {
    return { [RING_VERSION_HEADER]: String(this.tableValue.version), [HOPS_HEADER]: '1' };
  }

  /** Adopts a peer's newer table after it told us ours is stale. */
  protected async refreshTableFrom(address: string): Promise<void> {
    const response = await this.peers.call(address, 'GET', INTERNAL_PATHS.table, {
      timeoutMs: this.options.requestTimeoutMs,
    });
    if (response.statusCode === 200) this.installTable(response.body);
  }

  protected sourcesOf(partition: number): string[] {
    const sources = new Set<string>();
    for (const table of this.sourceTables) {
      for (const nodeId of table.owners[partition] ?? []) if (nodeId !== this.nodeId) sources.add(nodeId);
    }
    for (const nodeId of this.tableValue.owners[partition] ?? [])
      if (nodeId !== this.nodeId) sources.add(nodeId);
    return [...sources];
  }

  protected sourceAddress(nodeId: string): string | undefined {
    for (const table of [this.tableValue, ...this.sourceTables]) {
      for (const member of table.members) if (member.nodeId === nodeId) return member.address;
    }
    return undefined;
  }

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
    this.detector.track(candidate.members, this.nodeId);
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
      if (this.detector.isHealthy(member.nodeId)) return member.nodeId;
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

  protected nextTable(
    members: Member[],
    base: PartitionTable = this.tableValue,
    bump = 1,
    fresh = false,
  ): PartitionTable {
    const plan = {
      replicas: this.options.replicas,
      partitionCount: this.options.partitionCount,
      coordinator: this.nodeId,
    };
    return planTable(this.tableValue, members, plan, base, bump, fresh);
  }

  /** Starts pulling newly held partitions (NodeMigration). */
  protected abstract startMigration(): void;
}
