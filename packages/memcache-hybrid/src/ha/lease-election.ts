import { type Clock, type Logger, SILENT_LOGGER, SYSTEM_CLOCK, type TimerHandle } from '@kvforge/runtime';
import { Etcd3 } from 'etcd3';
import { EtcdLease } from './etcd-lease';

/** What the leader key holds: where its meta RPC and REST listen. */
export interface LeaderRecord {
  rpcUrl: string;
  restOrigin: string;
}

/** `starting`: campaigning or no leader known; `standby`: another node leads; `serving`: this one leads. */
export type ElectionState = 'starting' | 'standby' | 'serving';

export interface LeaseElectionOptions {
  /** etcd client URLs (`http://HOST:PORT`). */
  endpoints: readonly string[];
  /** The original's Lease `leaseDurationSeconds` (default 10): a dead leader's key goes after this long. */
  leaseSeconds: number;
  self: LeaderRecord;
  /** @default '/kvforge/memcache-hybrid/meta-leader' */
  key?: string;
  clock?: Clock;
  logger?: Logger;
  /** Called on every change of this node's leadership (true: elected, false: stepped down). */
  onLeadership?: (leading: boolean) => void;
}

export const DEFAULT_LEADER_KEY = '/kvforge/memcache-hybrid/meta-leader';

/**
 * Leader election on one etcd key bound to a lease (the original's Kubernetes Lease: holderIdentity =
 * the key's value, leaseDurationSeconds = the lease TTL, renewTime = the last keepalive). Each node runs
 * a round every TTL/3 (the original's 3 s for 10 s): the leader renews, the others try to create the key.
 *
 * Fencing: the leader serves only until `sentAt + TTL - margin` of its last renewal that etcd confirmed,
 * where sentAt is taken before the request left. etcd counts the TTL from when it received the request,
 * so this local deadline always falls before the lease can expire there and another node can win.
 * `isServing()` checks the deadline synchronously, so a process resumed after SIGSTOP refuses the very
 * first request it reads instead of waiting for a timer.
 */
export class LeaseElection {
  private readonly client: Etcd3;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly key: string;
  private readonly ttlMs: number;
  private readonly marginMs: number;
  private readonly periodMs: number;
  private lease: EtcdLease | undefined;
  private deadline = 0;
  private timer: TimerHandle | undefined;
  private fence: TimerHandle | undefined;
  private stopped = false;
  state: ElectionState = 'starting';
  leader: LeaderRecord | undefined;
  /** The leader key's create revision: a new one on every leadership change. */
  viewVersion = 0;

  constructor(private readonly options: LeaseElectionOptions) {
    this.client = new Etcd3({ hosts: [...options.endpoints], dialTimeout: 2000 });
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.key = options.key ?? DEFAULT_LEADER_KEY;
    this.ttlMs = options.leaseSeconds * 1000;
    this.marginMs = Math.min(1000, this.ttlMs / 4);
    this.periodMs = Math.max(100, Math.floor(this.ttlMs / 3));
  }

  start(): void {
    void this.round();
  }

  /** True only while this node holds a lease etcd confirmed and its local deadline has not passed. */
  isServing(): boolean {
    if (this.state !== 'serving') return false;
    if (this.clock.now() < this.deadline) return true;
    this.stepDown('lease deadline passed without a confirmed renewal');
    return false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    if (this.fence) this.clock.clearTimeout(this.fence);
    const lease = this.lease;
    this.lease = undefined;
    // Revoking hands over at once instead of after the TTL.
    if (lease) await lease.revoke();
    if (this.state === 'serving') this.setState('starting', undefined);
    this.client.close();
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    try {
      if (this.state === 'serving') await this.renew();
      else await this.campaign();
    } catch (error) {
      this.logger.warn({ err: error }, 'election round failed');
      if (this.state === 'standby') this.setState('starting', undefined);
    }
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => void this.round(), this.periodMs);
    (this.timer.id as { unref?: () => void } | undefined)?.unref?.();
  }

  private callOptions() {
    return { deadline: new Date(Date.now() + this.periodMs) };
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    if (!lease) return this.stepDown('no lease');
    const sentAt = this.clock.now();
    const ttl = await lease.keepaliveOnce(this.callOptions()).catch(() => undefined);
    if (this.lease !== lease || this.state !== 'serving') return;
    if (ttl === undefined) return; // unconfirmed: the deadline decides
    if (ttl <= 0) return this.stepDown('etcd says the lease is gone');
    this.extend(sentAt);
  }

  private async campaign(): Promise<void> {
    const sentAt = this.clock.now();
    const lease = new EtcdLease(this.client);
    try {
      await lease.grant(this.options.leaseSeconds, this.callOptions());
      const leaseId = lease.id;
      const txn = await this.client
        .if(this.key, 'Create', '==', 0)
        .then(this.client.put(this.key).value(JSON.stringify(this.options.self)).lease(leaseId))
        .else(this.client.get(this.key))
        .options(this.callOptions())
        .commit();
      if (this.stopped) throw new Error('stopped');
      if (txn.succeeded) {
        this.lease = lease;
        this.viewVersion = Number(txn.header.revision);
        this.extend(sentAt);
        this.setState('serving', this.options.self);
        return;
      }
      await lease.revoke();
      const kv = txn.responses[0]?.response_range?.kvs[0];
      if (!kv) return this.setState('starting', undefined);
      this.viewVersion = Number(kv.create_revision);
      this.setState('standby', JSON.parse(kv.value.toString()) as LeaderRecord);
    } catch (error) {
      if (this.lease !== lease) await lease.revoke();
      throw error;
    }
  }

  private extend(sentAt: number): void {
    this.deadline = sentAt + this.ttlMs - this.marginMs;
    if (this.fence) this.clock.clearTimeout(this.fence);
    // Step down on time even when no request comes to check the deadline.
    this.fence = this.clock.setTimeout(() => this.isServing(), this.deadline - this.clock.now() + 1);
    (this.fence.id as { unref?: () => void } | undefined)?.unref?.();
  }

  private stepDown(reason: string): void {
    if (this.state !== 'serving') return;
    this.logger.warn({ reason }, 'stepping down: leadership lost');
    const lease = this.lease;
    this.lease = undefined;
    if (lease) void lease.revoke();
    this.setState('starting', undefined);
  }

  private setState(state: ElectionState, leader: LeaderRecord | undefined): void {
    const wasLeading = this.state === 'serving';
    this.state = state;
    this.leader = leader;
    if (wasLeading !== (state === 'serving')) this.options.onLeadership?.(state === 'serving');
  }
}
