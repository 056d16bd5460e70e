import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '@kvforge/runtime';
import { keyInSlots } from '../core/cluster/key-slot';
import type { ControlClient } from '../replay/target-factory';

/**
 * Keys start with the checkpoint prefix: never replicated, ignored by dataset comparisons and GC.
 * One lease per (checkpoint name, input): that pair is what one pipeline writes into one target.
 */
export function leaseKeys(
  checkpointName: string,
  inputAddress: string,
  shardSlots?: readonly (readonly [number, number])[],
): { lease: string; fence: string } {
  // The hash tag keeps both keys in one slot of a cluster target (one EVAL touches both); for a
  // source shard that slot is one of the shard's, so the batch script on that master can read it.
  const tag = `${checkpointName}:${inputAddress}`;
  const lease = `redis-gunyu-checkpoint-lease:{${shardSlots ? keyInSlots(tag, shardSlots) : tag}}`;
  return { lease, fence: `${lease}:fence` };
}

/** The lease and fence keys (not checkpoints, though they share the reserved prefix). */
export function isLeaseKey(key: string): boolean {
  return key.startsWith('redis-gunyu-checkpoint-lease:');
}

export function newOwnerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

// Taking a free lease bumps the fence key: a transaction an old owner queued under WATCH fence aborts.
const ACQUIRE = `local v = redis.call('GET', KEYS[1])
if v == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('INCR', KEYS[2])
  return 1
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface LeaseTiming {
  leaseTimeoutMs: number;
  leaseRenewIntervalMs: number;
}

/**
 * The owner record of one pipeline in the target (DB 0): SET NX PX with a random owner id, renewed by
 * compare-and-PEXPIRE, released by compare-and-DEL. Validity is counted locally from the moment the
 * request was sent, minus a margin, so this side gives up before the key can expire in Redis.
 */
export class TargetLease {
  private validUntil = 0;

  constructor(
    readonly owner: string,
    private readonly client: ControlClient,
    readonly keys: { lease: string; fence: string },
    readonly timing: LeaseTiming,
    private readonly clock: Clock,
  ) {}

  /** How long before the key's expiry applying stops (clock drift, a reply in flight). */
  get marginMs(): number {
    return Math.min(1000, Math.floor(this.timing.leaseTimeoutMs / 5));
  }

  /** True while this process may apply: it held the lease recently enough. */
  get valid(): boolean {
    return this.clock.now() < this.validUntil;
  }

  /** Takes a free lease or extends our own; false when another owner holds it. */
  async acquire(): Promise<boolean> {
    const sentAt = this.clock.now();
    const { lease, fence } = this.keys;
    const won =
      (await this.client.eval(ACQUIRE, 2, lease, fence, this.owner, this.timing.leaseTimeoutMs)) === 1;
    this.validUntil = won ? sentAt + this.timing.leaseTimeoutMs - this.marginMs : 0;
    return won;
  }

  /** Gives the lease up at once (a graceful stop lets a peer take over without waiting for expiry). */
  async release(): Promise<void> {
    this.validUntil = 0;
    await this.client.eval(RELEASE, 1, this.keys.lease, this.owner);
  }

  forget(): void {
    this.validUntil = 0;
  }
}
