import { AbortedError, type Clock, type Logger, sleep } from '@kvforge/runtime';
import { connectRedis } from '../net/redis-client';
import { type ControlClient, createControlClient, type TargetSpec } from '../replay/target-factory';
import { BatchFence } from './batch-fence';
import { type LeaseTiming, leaseKeys, newOwnerId, TargetLease } from './target-lease';

export type PipelineRole = 'leader' | 'follower';

/**
 * Fencing of one pipeline, always on: it runs only while this process owns the target's lease for
 * (checkpoint name, input). A second process with the same config waits as a follower, polling every
 * leaseRenewInterval, and takes over once the owner released the lease or let it expire.
 */
export class LeaseGuard {
  role: PipelineRole = 'follower';
  /** Times this pipeline became leader or follower (redisGunYu_syncer_role_change). */
  roleChanges = 0;
  /** Why the last lead attempt did not win (owner busy, target unreachable). */
  waitingReason: string | undefined;
  /** One owner id per pipeline for the process lifetime: a new client (target restarted) keeps it. */
  readonly owner = newOwnerId();
  private client: ControlClient | undefined;
  private lease: TargetLease | undefined;
  /** After a handover this process stays out of the election until then (clock ms). */
  private holdOffUntilMs = 0;

  constructor(
    private readonly target: TargetSpec,
    readonly keys: { lease: string; fence: string },
    private readonly timing: LeaseTiming,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly input: string,
  ) {}

  static forPipeline(
    target: TargetSpec,
    checkpointName: string,
    input: string,
    timing: LeaseTiming,
    clock: Clock,
    logger: Logger,
    shardSlots?: readonly (readonly [number, number])[],
  ): LeaseGuard {
    const keys = leaseKeys(checkpointName, input, shardSlots);
    return new LeaseGuard(target, keys, timing, clock, logger, input);
  }

  /** The per-batch owner check of the current lease (standalone targets). */
  fence(): BatchFence | undefined {
    return this.lease && new BatchFence(this.keys, this.lease.owner);
  }

  /**
   * Resolves true once this process leads; false when `signal` aborted the wait. `onError` hears why
   * the target could not be asked (it is down, TLS refused…).
   */
  async lead(signal: AbortSignal, onError: (message: string) => void): Promise<boolean> {
    // Still held from the last session (a quick restart): no round trip needed.
    if (this.role === 'leader' && this.lease?.valid) return true;
    for (;;) {
      if (signal.aborted) return false;
      const holdOffMs = this.holdOffUntilMs - this.clock.now();
      if (holdOffMs > 0) {
        this.waitingReason = 'handed over: letting another process take the lease';
        this.setRole('follower');
        if (!(await this.pause(holdOffMs, signal))) return false;
        continue;
      }
      try {
        const lease = await this.ensureLease();
        if (await lease.acquire()) {
          this.setRole('leader');
          this.waitingReason = undefined;
          return true;
        }
        this.waitingReason = 'another process owns this input on the target';
      } catch (error) {
        this.waitingReason = `lease: ${(error as Error).message}`;
        onError((error as Error).message);
      }
      this.setRole('follower');
      if (!(await this.pause(this.timing.leaseRenewIntervalMs, signal))) return false;
    }
  }

  /** Sleeps; false when `signal` aborted it. */
  private async pause(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await sleep(ms, { clock: this.clock, signal });
      return true;
    } catch (error) {
      if (error instanceof AbortedError) return false;
      throw error;
    }
  }

  /**
   * While a session runs: renew every leaseRenewInterval, and call `lost` (once) as soon as a renewal
   * is refused or the local validity ran out, so applying stops before the key can expire. Returns
   * the stopper.
   */
  watch(lost: (reason: string) => void): () => void {
    const lease = this.lease;
    if (!lease) throw new Error('watch() before lead()');
    let stopped = false;
    let renewing = false;
    const fail = (reason: string): void => {
      if (stopped) return;
      stop();
      this.stepDown(reason, lease);
      lost(reason);
    };
    const renew = setInterval(() => {
      if (renewing) return;
      renewing = true;
      lease
        .acquire()
        .then((won) => {
          if (!won) fail('another process took the lease');
        })
        .catch(() => {}) // a lost target: the validity check decides
        .finally(() => {
          renewing = false;
        });
    }, this.timing.leaseRenewIntervalMs);
    const check = setInterval(
      () => {
        if (!lease.valid) fail('lease not renewed in time');
      },
      Math.max(20, Math.min(100, lease.marginMs / 2)),
    );
    const stop = (): void => {
      stopped = true;
      clearInterval(renew);
      clearInterval(check);
    };
    return stop;
  }

  /**
   * The lease is no longer ours (a batch was refused, a renewal lost): forget it locally, so the next
   * lead() asks the target instead of trusting the local validity.
   */
  stepDown(reason: string, lease = this.lease): void {
    lease?.forget();
    this.setRole('follower');
    this.logger.warn({ input: this.input, reason }, 'lease lost: applying stopped');
  }

  /**
   * Handover: gives the lease up and stays out of the election for two renew intervals, so every
   * follower polls at least once and one of them takes over; with no follower this process leads
   * again after that.
   */
  async handOver(): Promise<void> {
    await this.release();
    this.holdOffUntilMs = this.clock.now() + 2 * this.timing.leaseRenewIntervalMs;
  }

  /** Gives the lease up (graceful stop) and closes the client. */
  async release(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    if (lease && this.role === 'leader') await lease.release().catch(() => {});
    this.setRole('follower');
    this.client?.disconnect();
    this.client = undefined;
  }

  private async ensureLease(): Promise<TargetLease> {
    if (this.lease && this.client && this.client.status !== 'end') return this.lease;
    this.client?.disconnect();
    const client = createControlClient(this.target);
    client.on('error', () => {});
    try {
      await connectRedis(client);
    } catch (error) {
      client.disconnect();
      throw error;
    }
    this.client = client;
    this.lease = new TargetLease(this.owner, client, this.keys, this.timing, this.clock);
    return this.lease;
  }

  private setRole(role: PipelineRole): void {
    if (this.role === role) return;
    this.role = role;
    this.roleChanges++;
    this.logger.info({ input: this.input, role }, `pipeline role: ${role}`);
  }
}
