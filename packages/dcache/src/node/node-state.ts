import type { Clock, TimerHandle } from '@kvforge/runtime';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { partitionOf } from '../core/hash';
import {
  ANSWERS,
  decodeAnswer,
  HOPS_HEADER,
  INTERNAL_PATHS,
  RING_VERSION_HEADER,
  SENDER_ADDRESS_HEADER,
  SENDER_HEADER,
} from '../core/internal-api';
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
import { OwnershipFence } from './ownership-fence';
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

  /** Hints: partitions where a replica missed a write (its send failed); repaired first. */
  protected readonly hintedPartitions = new Set<number>();

  protected readonly notHeldSince = new Map<number, number>();

  readonly detector: FailureDetector;

  /** Holds reads and writes of partitions this node just became primary of (see OwnershipFence). */
  protected readonly fence: OwnershipFence;

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

  /** When the table was last confirmed by a probe round or `confirmTable` (see `tableIsFresh`). */
  protected tableCheckedAt: number;

  private confirming: Promise<boolean> | undefined;

  private cutOffAt: number | undefined;

  /** The ring version that told this node it had been cut off. */
  protected cutOffVersion = 0;

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
    this.fence = new OwnershipFence({
      nodeId: this.options.nodeId,
      peers: this.peers,
      detector: this.detector,
      clock: this.clock,
      logger: this.options.logger,
      probeTimeoutMs: this.options.probeTimeoutMs,
      deadlineMs: this.options.requestTimeoutMs * 3,
      table: () => this.tableValue,
      isStopped: () => this.stopped,
    });
    this.startedAt = this.clock.now();
    this.lastMembershipChange = this.startedAt;
    this.tableCheckedAt = this.startedAt;
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

  /** Sent on every internal cache, batch and replicate call: the receiver fences on them. */
  protected internalHeaders(): Record<string, string> {
    // Built once per table version: every forward sends the same four headers.
    if (this.headersCache?.version !== this.tableValue.version) {
      this.headersCache = {
        version: this.tableValue.version,
        headers: {
          [RING_VERSION_HEADER]: String(this.tableValue.version),
          [HOPS_HEADER]: '1',
          [SENDER_HEADER]: this.nodeId,
          [SENDER_ADDRESS_HEADER]: this.options.address,
        },
      };
    }
    return this.headersCache.headers;
  }

  private headersCache: { version: number; headers: Record<string, string> } | undefined;

  /**
   * Whether this node checked its table against its peers recently enough to act on it alone.
   * A removal needs `deadAfterMs` of failed probes, so a node whose last check is younger than
   * half of that cannot have been replaced yet. A node that was paused (GC, SIGSTOP, a frozen VM)
   * finds its last check old when it resumes, and confirms before serving what queued up.
   */
  get tableIsFresh(): boolean {
    return this.clock.now() - this.tableCheckedAt < this.options.deadAfterMs / 2;
  }

  /**
   * Asks every member that is not known dead for its table identity and adopts any newer table.
   * Concurrent callers share one round. Resolves true when the table changed meanwhile.
   */
  confirmTable(): Promise<boolean> {
    this.confirming ??= this.runConfirmation().finally(() => {
      this.confirming = undefined;
    });
    return this.confirming;
  }

  /**
   * How long a node refuses writes after it learnt it had been cut off. Requests that queued up in
   * its socket buffers during a pause are read only after it resumes — over a second or more on a
   * busy box, long after the first confirmation — and none of them may be applied late: they could
   * overwrite newer writes the cluster acknowledged meanwhile. So the node refuses every write
   * for this window rather than guess which ones queued up.
   */
  get cutOffQuarantineMs(): number {
    return this.options.cutOffQuarantineMs ?? Math.max(2 * this.options.deadAfterMs, 2000);
  }

  get inCutOffQuarantine(): boolean {
    return this.cutOffAt !== undefined && this.clock.now() - this.cutOffAt < this.cutOffQuarantineMs;
  }

  /** This node learnt late (its table unconfirmed: it was paused) that the cluster removed it. */
  protected markCutOff(): void {
    this.cutOffVersion = this.tableValue.version;
    if (!this.inCutOffQuarantine)
      this.options.logger.warn(
        { ringVersion: this.tableValue.version },
        'cut off from the cluster: refusing writes for a while',
      );
    this.cutOffAt = this.clock.now();
  }

  private async runConfirmation(): Promise<boolean> {
    const started = this.clock.now();
    const before = this.tableValue;
    const others = before.members.filter(
      (member) => member.nodeId !== this.nodeId && !this.detector.isDead(member.nodeId),
    );
    await Promise.allSettled(
      others.map(async (member) => {
        const response = await this.peers.call(member.address, 'GET', INTERNAL_PATHS.health, {
          timeoutMs: this.options.probeTimeoutMs,
        });
        const body = decodeAnswer(ANSWERS.health, response, member.nodeId);
        const theirs = {
          version: body.ring_version,
          coordinator: body.ring_coordinator ?? '',
          fingerprint: body.ring_members ?? '',
        };
        if (isNewerIdentity(theirs, tableIdentity(this.tableValue)))
          await this.refreshTableFrom(member.address);
      }),
    );
    this.tableCheckedAt = started;
    return this.tableValue !== before;
  }

  /** Called with a peer's ring version: adopt the peer's table first when it is newer than ours. */
  async catchUp(callerVersion: number, callerAddress: string | undefined): Promise<void> {
    if (callerVersion <= this.tableValue.version || callerAddress === undefined) return;
    await this.refreshTableFrom(callerAddress).catch(() => undefined);
  }

  /** Throws STALE_RING (421) unless this node is the partition's primary in the table it runs. */
  protected assertPrimary(partition: number): void {
    if (this.tableValue.owners[partition]?.[0] !== this.nodeId) {
      throw this.staleRing(
        `${this.nodeId} is not the primary of partition ${partition} at ring version ${this.tableValue.version}`,
      );
    }
  }

  /**
   * A 421 for a peer: it carries this node's table (rendered as `table` on internal routes), so
   * the caller adopts it from the answer instead of fetching it with GET /internal/cluster/table.
   */
  staleRing(message: string): DcacheError {
    return new DcacheError(DCACHE_ERROR_CODES.STALE_RING, message, { details: { table: this.tableValue } });
  }

  /** After a 421 from `address`: adopts the table the answer carries, else fetches the peer's. */
  protected async adoptStaleAnswer(body: unknown, address: string): Promise<void> {
    const carried = (body as { table?: unknown } | null | undefined)?.table;
    if (carried !== undefined) {
      try {
        this.installTable(carried);
        return;
      } catch {
        // A malformed table in the answer: ask the peer for its table instead.
      }
    }
    await this.refreshTableFrom(address);
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
    // Removed while it was not checking (paused): what queued up meanwhile must not be applied.
    else if (wasMemberOf(previous, this.nodeId) && !this.tableIsFresh) this.markCutOff();
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
    this.fence.install(candidate);
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

const wasMemberOf = (table: PartitionTable, nodeId: string): boolean =>
  table.version > 0 && table.members.some((member) => member.nodeId === nodeId);
