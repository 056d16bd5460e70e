import { pollUntil } from '@kvforge/runtime';
import type { Etcd3, Watcher } from 'etcd3';
import type { Member, PartitionTable } from '../core/partition-table';
import type { DcacheNode } from './dcache-node';
import type { Membership } from './membership';

export interface EtcdMembershipOptions {
  endpoints: string[];
  /** Key prefix of this cluster. */
  prefix: string;
  /** A member whose heartbeat is older than this is removed (heartbeats every third of it). */
  leaseTtlSeconds: number;
}

export const DEFAULT_ETCD_MEMBERSHIP_OPTIONS: Omit<EtcdMembershipOptions, 'endpoints'> = {
  prefix: '/dcache',
  leaseTtlSeconds: 5,
};

/**
 * Membership through etcd, for deployments that already run it: each node keeps
 * `<prefix>/members/<id>` fresh with heartbeats; the lowest registered id computes the next table and
 * publishes `<prefix>/table` with a compare-and-swap; every node watches that key and installs it.
 * The node must be created with `membership: 'external'`.
 */
export class EtcdMembership implements Membership {
  readonly options: EtcdMembershipOptions;
  /** Created in start(): etcd3 (grpc, protobufjs) is loaded only in etcd mode, not by every node's start-up. */
  private client!: Etcd3;
  private timer: NodeJS.Timeout | undefined;
  private watchers: Watcher[] = [];
  private reconciling: Promise<void> = Promise.resolve();
  private stopped = false;
  private leaving = false;

  constructor(
    private readonly node: DcacheNode,
    options: Partial<EtcdMembershipOptions> & Pick<EtcdMembershipOptions, 'endpoints'>,
  ) {
    this.options = { ...DEFAULT_ETCD_MEMBERSHIP_OPTIONS, ...options };
  }

  private get tableKey(): string {
    return `${this.options.prefix}/table`;
  }

  private get membersPrefix(): string {
    return `${this.options.prefix}/members/`;
  }

  async start(): Promise<void> {
    const { Etcd3 } = await import('etcd3');
    this.client = new Etcd3({ hosts: this.options.endpoints });
    const tableWatcher = await this.client.watch().key(this.tableKey).create();
    tableWatcher.on('put', (kv) => this.install(kv.value.toString()));
    const membersWatcher = await this.client.watch().prefix(this.membersPrefix).create();
    membersWatcher.on('put', () => this.scheduleReconcile());
    membersWatcher.on('delete', () => this.scheduleReconcile());
    this.watchers = [tableWatcher, membersWatcher];
    const current = await this.client.get(this.tableKey).string();
    if (current !== null) this.install(current);
    await this.heartbeat();
    this.timer = setInterval(
      () => {
        void this.heartbeat().catch(() => undefined);
        this.scheduleReconcile();
      },
      Math.max(100, (this.options.leaseTtlSeconds * 1000) / 3),
    );
    this.timer.unref();
    this.scheduleReconcile();
    await this.reconciling;
  }

  /**
   * Registration is a heartbeat key, not an etcd lease: with the pinned etcd3/grpc versions lease ids
   * (int64) lose precision and every leased put fails with NOT_FOUND.
   */
  private async heartbeat(): Promise<void> {
    if (this.stopped || this.leaving) return;
    await this.client
      .put(`${this.membersPrefix}${this.node.nodeId}`)
      .value(JSON.stringify({ address: this.node.options.address, at: Date.now() }));
  }

  private install(raw: string): void {
    try {
      this.node.installTable(JSON.parse(raw) as PartitionTable);
    } catch {
      // a table of another partition count or a broken value: ignored
    }
  }

  private scheduleReconcile(): void {
    this.reconciling = this.reconciling.then(() => this.reconcile()).catch(() => undefined);
  }

  /** On the lowest registered node: publish a table for the registered members if it differs. */
  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    const registered = await this.client.getAll().prefix(this.membersPrefix).strings();
    const oldest = Date.now() - this.options.leaseTtlSeconds * 1000;
    const members: Member[] = [];
    const expired: string[] = [];
    for (const [key, raw] of Object.entries(registered)) {
      let entry: { address?: unknown; at?: unknown } = {};
      try {
        entry = JSON.parse(raw) as typeof entry;
      } catch {
        // not ours
      }
      if (typeof entry.address !== 'string' || typeof entry.at !== 'number') continue;
      if (entry.at < oldest) expired.push(key);
      else members.push({ nodeId: key.slice(this.membersPrefix.length), address: entry.address });
    }
    members.sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
    if (members.length === 0 || members[0]!.nodeId !== this.node.nodeId) return;
    for (const key of expired) await this.client.delete().key(key);
    const raw = await this.client.get(this.tableKey).string();
    const current = raw === null ? undefined : (JSON.parse(raw) as PartitionTable);
    if (current !== undefined) {
      this.install(raw!);
      const same =
        current.members.length === members.length &&
        current.members.every((member, index) => member.nodeId === members[index]!.nodeId);
      if (same) return;
    }
    const next = this.node.proposeTable(
      members,
      Math.max(current?.version ?? 0, this.node.table.version) + 1,
    );
    const serialized = JSON.stringify(next);
    const guard =
      raw === null
        ? this.client.if(this.tableKey, 'Version', '==', 0)
        : this.client.if(this.tableKey, 'Value', '==', raw);
    const result = await guard.then(this.client.put(this.tableKey).value(serialized)).commit();
    if (result.succeeded) this.install(serialized);
    else this.scheduleReconcile(); // someone else wrote first: look again
  }

  /** Graceful leave: drop the registration, wait for the table without this node and for the hand-off. */
  async leave(timeoutMs = this.node.options.leaveTimeoutMs): Promise<void> {
    this.leaving = true;
    if (this.timer) clearInterval(this.timer);
    await this.client.delete().key(`${this.membersPrefix}${this.node.nodeId}`);
    const deadline = Date.now() + timeoutMs;
    await pollUntil(() => !this.node.table.members.some((member) => member.nodeId === this.node.nodeId), {
      deadline,
      intervalMs: 50,
      description: 'a table without this node',
    }).catch(() => undefined); // out of time: hand off what was pulled so far
    await this.node.waitForClusterSettled(Math.max(0, deadline - Date.now()));
  }

  /** Stops heartbeats without deregistering (a crash looks the same): the others drop this node after the TTL. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.watchers.map((watcher) => watcher.cancel().catch(() => undefined)));
    // Never started: no client to close.
    this.client?.close();
  }
}
