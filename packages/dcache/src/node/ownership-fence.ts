import { type Clock, type Logger, sleep } from '@kvforge/runtime';
import { ANSWERS, decodeAnswer, INTERNAL_PATHS } from '../core/internal-api';
import type { PartitionTable } from '../core/partition-table';
import type { FailureDetector } from './failure-detector';
import type { PeerClient } from './peer-client';

export interface OwnershipFenceHost {
  readonly nodeId: string;
  readonly peers: PeerClient;
  readonly detector: FailureDetector;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly probeTimeoutMs: number;
  /** How long the fence waits for a slow previous holder before it lets the new primary serve anyway. */
  readonly deadlineMs: number;
  /** The table the node runs now (pushed to previous holders that still run an older one). */
  table(): PartitionTable;
  isStopped(): boolean;
}

/**
 * The fence a NEW primary passes before it serves a partition (reads or writes). The old primary
 * keeps taking writes until it runs the new table, and it reaches its write quorum through any
 * old replica that still runs the old one. With replicas 2 the only other old holder is the new
 * primary itself, which already refuses it; with replicas ≥ 3 an old replica outside the new
 * primary's quorum could still acknowledge the old primary's writes (stamped with the old epoch,
 * so they would lose to the new primary's — acknowledged writes lost, stale reads). So the new
 * primary first waits until every previous holder of those partitions runs this table (or newer),
 * or cannot take writes at all: nothing listens there (connection refused) or the failure
 * detector declared it dead. It pushes its table to holders that answer with an older version.
 * A holder that only times out is retried until `deadlineMs`, then the fence opens with a warning
 * (liveness over safety, as for migration pulls).
 */
export class OwnershipFence {
  private readonly partitions = new Set<number>();
  private readonly holders = new Map<string, string>();
  private version = 0;
  private opened: Promise<void> | undefined;

  constructor(private readonly host: OwnershipFenceHost) {}

  /** Whether a read or write of `partition` must wait (`passed`) first. */
  guards(partition: number): boolean {
    return this.partitions.size > 0 && this.partitions.has(partition);
  }

  /** Resolves once the fence is open (immediately when nothing is fenced). */
  passed(): Promise<void> {
    return this.opened ?? Promise.resolve();
  }

  /** Called with each installed table: fences the partitions this node became primary of. */
  install(table: PartitionTable): void {
    const previous = table.previous;
    if (previous === undefined) return;
    const self = this.host.nodeId;
    let added = false;
    for (let partition = 0; partition < table.partitionCount; partition++) {
      const before = previous.owners[partition] ?? [];
      if (table.owners[partition]?.[0] !== self || before[0] === self || before.length === 0) continue;
      this.partitions.add(partition);
      added = true;
      for (const nodeId of before) {
        if (nodeId === self) continue;
        const address = previous.members.find((member) => member.nodeId === nodeId)?.address;
        if (address !== undefined) this.holders.set(nodeId, address);
      }
    }
    if (!added && this.partitions.size === 0) return;
    this.version = table.version;
    this.opened ??= this.confirmAll().finally(() => {
      this.partitions.clear();
      this.holders.clear();
      this.opened = undefined;
    });
  }

  private async confirmAll(): Promise<void> {
    const deadline = this.host.clock.now() + this.host.deadlineMs;
    while (this.host.clock.now() < deadline && !this.host.isStopped()) {
      const confirmed = await Promise.all(
        [...this.holders].map(([nodeId, address]) => this.confirmed(nodeId, address)),
      );
      if (confirmed.every(Boolean)) return;
      await sleep(20, { clock: this.host.clock });
    }
    if (!this.host.isStopped())
      this.host.logger.warn(
        { version: this.version, partitions: this.partitions.size },
        'previous holders not confirmed on the new table in time; serving the partitions anyway',
      );
  }

  /** The previous holder runs `version` or newer, or cannot take writes. */
  private async confirmed(nodeId: string, address: string): Promise<boolean> {
    if (this.host.detector.isDead(nodeId)) return true;
    try {
      const response = await this.host.peers.call(address, 'GET', INTERNAL_PATHS.health, {
        timeoutMs: this.host.probeTimeoutMs,
      });
      if (decodeAnswer(ANSWERS.health, response, nodeId).ring_version >= this.version) return true;
      // Still on an older table: hand it ours rather than wait for the coordinator's push or a probe.
      await this.host.peers
        .call(address, 'POST', INTERNAL_PATHS.table, {
          body: this.host.table(),
          timeoutMs: this.host.probeTimeoutMs,
        })
        .catch(() => undefined);
      return false;
    } catch (error) {
      return (
        (error as { code?: unknown } | undefined)?.code === 'ECONNREFUSED' ||
        this.host.detector.isDead(nodeId)
      );
    }
  }
}
