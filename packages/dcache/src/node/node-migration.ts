import { pollUntil, sleep } from '@kvforge/runtime';
import { ANSWERS, decodeAnswer, INTERNAL_PATHS } from '../core/internal-api';
import { NodeBatches } from './node-batches';

/**
 * Pull-based online migration of the partitions a node newly holds, and the wait for a settled cluster.
 */
export abstract class NodeMigration extends NodeBatches {
  /** Waits until every member runs this table version (or newer) and has no migration pending. */
  async waitForClusterSettled(timeoutMs: number): Promise<boolean> {
    const version = this.tableValue.version;
    const settled = async () => {
      const states = await Promise.allSettled(
        this.tableValue.members
          .filter((member) => member.nodeId !== this.nodeId)
          .map((member) =>
            this.peers.call(member.address, 'GET', INTERNAL_PATHS.health, { timeoutMs: 1000 }),
          ),
      );
      const others = states.every((state) => {
        if (state.status === 'rejected') return true; // a dead peer cannot pull anything
        const body = ANSWERS.health.safeParse(state.value.body);
        return body.success && body.data.ring_version >= version && !body.data.migrating;
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

  /** Waits until every reachable current or previous member runs `version` or newer. */
  protected async waitForVersion(version: number, timeoutMs: number): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    const addresses = new Map<string, string>();
    for (const table of [this.tableValue, ...this.sourceTables]) {
      for (const member of table.members)
        if (member.nodeId !== this.nodeId) addresses.set(member.nodeId, member.address);
    }
    while (this.clock.now() < deadline && !this.stopped) {
      const answers = await Promise.allSettled(
        [...addresses].map(async ([nodeId, address]) => {
          if (this.detector.isDead(nodeId)) return true;
          let response: Awaited<ReturnType<typeof this.peers.call>>;
          try {
            response = await this.peers.call(address, 'GET', INTERNAL_PATHS.health, {
              timeoutMs: this.options.probeTimeoutMs,
            });
          } catch (error) {
            // Nothing listening accepts no writes. A timeout is not that: a slow (loaded, paused)
            // peer may still acknowledge writes on the old table, which a pull now would miss.
            return isConnectionRefused(error) || this.detector.isDead(nodeId);
          }
          return decodeAnswer(ANSWERS.health, response, nodeId).ring_version >= version;
        }),
      );
      if (answers.every((answer) => answer.status === 'rejected' || answer.value)) return;
      await sleep(20, { clock: this.clock });
    }
    if (!this.stopped)
      this.options.logger.warn(
        { version },
        'previous holders not confirmed on the new table in time; pulling anyway',
      );
  }

  protected startMigration(): void {
    if (this.migrationLoop !== undefined || this.incoming.size === 0) {
      this.migration.pendingPartitions = this.incoming.size;
      return;
    }
    this.migrationLoop = this.runMigration().finally(() => {
      this.migrationLoop = undefined;
      if (this.incoming.size > 0 && !this.stopped) this.startMigration();
    });
  }

  protected async runMigration(): Promise<void> {
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
            if (address === undefined || this.detector.isDead(nodeId)) return;
            try {
              const response = await this.peers.call(address, 'POST', INTERNAL_PATHS.migrateFetch, {
                body: { partitions },
                timeoutMs: this.options.requestTimeoutMs * 5,
              });
              if (response.statusCode === 200)
                migrated += this.applyEntries(decodeAnswer(ANSWERS.entries, response, nodeId).entries);
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

  protected dropStalePartitions(): void {
    if (this.isMigrating) return;
    const now = this.clock.now();
    for (const [partition, since] of this.notHeldSince) {
      if (now - since < this.options.dropAfterMs) continue;
      this.store.dropPartition(partition);
      this.notHeldSince.delete(partition);
    }
  }
}

const isConnectionRefused = (error: unknown): boolean =>
  (error as { code?: unknown } | undefined)?.code === 'ECONNREFUSED';
