import { ANSWERS, decodeAnswer, INTERNAL_PATHS } from '../core/internal-api';
import { partitionDigest } from '../core/partition-digest';
import { NodeMigration } from './node-migration';

/**
 * Anti-entropy, run by each partition's primary: every `repairIntervalMs` it compares per-partition
 * digests with each replica for up to `repairPartitionsPerRound` partitions (hinted ones first —
 * those where a replica missed a write —, then round-robin), and for each mismatch merges both
 * ways by (epoch, counter): it pulls the replica's entries, then sends it its own. Rate-limited by
 * the partition budget per round; skipped while a migration runs.
 */
export abstract class NodeRepair extends NodeMigration {
  readonly repair = {
    /** Partitions found out of sync with a replica and not yet repaired. */
    outOfSync: new Set<number>(),
    repairedPartitions: 0,
    rounds: 0,
  };

  private repairCursor = 0;
  private repairing = false;
  private lastRepairAt = 0;

  /** Per-partition digests of this node's store (POST /internal/repair/digests). */
  digestsOf(partitions: readonly number[]): number[] {
    const now = this.clock.now();
    return partitions.map((partition) => partitionDigest(this.store.partitionEntries(partition), now));
  }

  /** Starts a repair round when one is due; never two at once, never during a migration. */
  protected maybeRepair(): void {
    const now = this.clock.now();
    if (this.repairing || this.isMigrating || now - this.lastRepairAt < this.options.repairIntervalMs) return;
    this.lastRepairAt = now;
    this.repairing = true;
    this.repairRound()
      .catch((error: unknown) => this.options.logger.warn({ err: String(error) }, 'repair round failed'))
      .finally(() => {
        this.repairing = false;
      });
  }

  /** The partitions of this round: hinted first, then the next ones this node is primary of. */
  private nextRepairBatch(): number[] {
    const budget = this.options.repairPartitionsPerRound;
    const batch = [...this.hintedPartitions]
      .filter((partition) => this.isPrimaryOf(partition))
      .slice(0, budget);
    const count = this.options.partitionCount;
    for (let step = 0; step < count && batch.length < budget; step++) {
      const partition = (this.repairCursor + step) % count;
      if (this.isPrimaryOf(partition) && !batch.includes(partition)) batch.push(partition);
      if (step === count - 1 || batch.length === budget) this.repairCursor = (partition + 1) % count;
    }
    return batch;
  }

  private isPrimaryOf(partition: number): boolean {
    return this.tableValue.owners[partition]?.[0] === this.nodeId;
  }

  protected async repairRound(): Promise<void> {
    const batch = this.nextRepairBatch();
    if (batch.length === 0) return;
    this.repair.rounds++;
    const byReplica = new Map<string, number[]>();
    for (const partition of batch) {
      for (const nodeId of (this.tableValue.owners[partition] ?? []).slice(1)) {
        const list = byReplica.get(nodeId);
        if (list === undefined) byReplica.set(nodeId, [partition]);
        else list.push(partition);
      }
    }
    const stillOff = new Set<number>();
    await Promise.all(
      [...byReplica].map(async ([nodeId, partitions]) => {
        try {
          const address = this.addressOf(nodeId);
          const answer = await this.peers.call(address, 'POST', INTERNAL_PATHS.digests, {
            body: { partitions },
            timeoutMs: this.options.requestTimeoutMs,
          });
          const theirs = decodeAnswer(ANSWERS.digests, answer, nodeId).digests;
          const ours = this.digestsOf(partitions);
          const differing = partitions.filter((_, index) => theirs[index] !== ours[index]);
          if (differing.length === 0) return;
          for (const partition of differing) this.repair.outOfSync.add(partition);
          const fetched = await this.peers.call(address, 'POST', INTERNAL_PATHS.migrateFetch, {
            body: { partitions: differing },
            timeoutMs: this.options.requestTimeoutMs * 5,
          });
          this.applyEntries(decodeAnswer(ANSWERS.entries, fetched, nodeId).entries);
          await this.sendEntries(nodeId, this.exportPartitions(differing));
          this.repair.repairedPartitions += differing.length;
        } catch (error) {
          // The replica is down or its table differs: the partitions stay hinted for the next round.
          for (const partition of partitions) stillOff.add(partition);
          this.options.logger.debug({ replica: nodeId, err: String(error) }, 'repair with replica failed');
        }
      }),
    );
    for (const partition of batch) {
      if (stillOff.has(partition)) continue;
      this.hintedPartitions.delete(partition);
      this.repair.outOfSync.delete(partition);
    }
  }
}
