import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { slotOfKey } from './core/cluster/key-slot';
import {
  DEFAULT_SPILLING_SPOOL_OPTIONS,
  SpillingSpool,
  type SpillingSpoolOptions,
} from './core/spilling-spool';
import type { LeaseGuard } from './fencing/lease-guard';
import { redisClient } from './net/redis-client';
import type { ClusterTargetConnection } from './replay/cluster-target-connection';
import { ClusterTransactionBatch } from './replay/cluster-transaction-batch';
import type { ClusterTransactionSender } from './replay/command-replayer';
import { SPOOL_ITEM_CODEC, type SpoolItem } from './replay/spool-item';
import type { SessionInbox } from './session-inbox';
import type { SyncerOptions } from './syncer-options';

/** Stream phase: bytes reading may run ahead of replay before the source socket pauses. */
const READ_AHEAD_BYTES = 8 * 1024 * 1024;
/** Longest read-ahead pause without replay draining it to half, when the channel can spill to disk. */
const READ_AHEAD_STALL_MS = 1000;

/** Cluster → cluster transaction mode: each batch as one script on the master of the shard's slots. */
export function clusterTransactionSender(
  link: ClusterTargetConnection,
  guard: LeaseGuard,
  checkpointKey: string,
): ClusterTransactionSender {
  const slot = slotOfKey(checkpointKey);
  return {
    batch: new ClusterTransactionBatch({ owner: guard.owner, leaseKey: guard.keys.lease, checkpointKey }),
    send: (parts) => link.sendPinned(slot, parts),
  };
}

/**
 * Reading pauses READ_AHEAD_BYTES ahead of replay, so catch-up checkpoints keep moving. A channel
 * with a disk pauses at most READ_AHEAD_STALL_MS without replay draining to half (a frozen target
 * must not make the source drop the syncer); a memory-only one pauses until replay takes.
 */
export function limitReadAhead(
  inbox: SessionInbox,
  options: Partial<SpillingSpoolOptions> | undefined,
): void {
  const spool = { ...DEFAULT_SPILLING_SPOOL_OPTIONS, ...options };
  inbox.readAheadBytes = Math.min(READ_AHEAD_BYTES, spool.memoryBytes);
  inbox.readAheadStallMs = spool.maxDiskBytes === 0 ? 0 : READ_AHEAD_STALL_MS;
}

/** The delay probe: `SET <syncDelayTestKey> <input>_<unix ns>` every second on the shard's master. */
export function startDelayProbe(
  options: SyncerOptions,
  source: Redis,
  closers: (() => void)[],
): NodeJS.Timeout {
  const probe = options.probeEndpoint ? redisClient(options.probeEndpoint) : source;
  if (probe !== source) closers.push(() => probe.disconnect());
  return setInterval(() => {
    probe
      .set(options.syncDelayTestKey, `${options.inputAddress}_${BigInt(Date.now()) * 1_000_000n}`)
      .catch(() => {});
  }, 1000);
}

/** A fresh spool; spill files a crashed process left for this input are removed first. */
export function openSpool(options: SyncerOptions): SpillingSpool<SpoolItem> {
  const spool = { ...DEFAULT_SPILLING_SPOOL_OPTIONS, ...options.spool };
  const base = spool.directory ?? join(tmpdir(), 'redis-gunyu');
  const directory = join(base, options.inputAddress.replace(/[^\w.-]/g, '_'));
  rmSync(directory, { recursive: true, force: true });
  return new SpillingSpool(SPOOL_ITEM_CODEC, { ...spool, directory });
}

/** Keys in all DBs of an INFO keyspace reply (`db0:keys=12,expires=0,...`). */
export function keyspaceSize(info: string): number {
  let keys = 0;
  for (const match of info.matchAll(/^db\d+:keys=(\d+)/gm)) keys += Number(match[1]);
  return keys;
}
