import { sleep } from '@kvforge/runtime';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { pushTo } from '../core/group-by';
import { ANSWERS, decodeAnswer, INTERNAL_PATHS, tableOf } from '../core/internal-api';
import { assignTable, type Member, type PartitionTable } from '../core/partition-table';
import { checkedTable } from '../core/table-validation';
import type { WireEntry } from '../core/wire-entry';
import { outranks } from './cluster-rank';
import { NodeProbes } from './node-probes';

/**
 * One dcache node: the local store, the versioned partition table, forwarding, replication,
 * membership with failure detection, and pull-based online migration. No HTTP server here: the
 * fastify plugin in `http/` exposes it. This layer is membership: start/stop, join, leave,
 * rebalance, split-cluster merge and the probe rounds; the layers below it hold the rest
 * (NodeState → NodeData → NodeBatches → NodeMigration → NodeProbes).
 */
export class DcacheNode extends NodeProbes {
  /** Starts failure detection and, with seeds, the join. */
  start(): void {
    this.joinStartedAt = this.clock.now();
    this.scheduleTick();
    if (!this.joined && this.options.membership === 'seeds') void this.tryJoin();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.probeTimer) this.clock.clearTimeout(this.probeTimer);
    await this.migrationLoop?.catch(() => undefined);
    await this.peers.close();
  }

  /**
   * Join of `member` (spec: POST /internal/cluster/join): the coordinator builds and pushes the new
   * table. `callerVersion` is the ring version the joiner runs: the new table goes above it, so the
   * members of a cluster the joiner leaves (a merge) adopt the new table from it instead of pulling
   * it back.
   */
  async handleJoin(member: Member, callerVersion = 0): Promise<PartitionTable> {
    if (this.options.membership !== 'seeds') {
      throw new DcacheError(DCACHE_ERROR_CODES.ADD_NODE, 'membership is managed externally (etcd)');
    }
    // A node still joining must not found a second cluster by accepting joins: the joiner tries
    // its next seed (or, if it is the lowest seed, bootstraps the one cluster).
    if (!this.joined)
      throw new DcacheError(DCACHE_ERROR_CODES.ADD_NODE, `${this.nodeId} has not joined a cluster yet`);
    const coordinator = this.coordinatorId();
    // A stale view may still list the joiner as our coordinator: it is busy joining, so act as one.
    if (coordinator !== this.nodeId && coordinator !== member.nodeId) {
      try {
        const response = await this.peers.call(this.addressOf(coordinator), 'POST', INTERNAL_PATHS.join, {
          body: { node_id: member.nodeId, address: member.address, ring_version: callerVersion },
        });
        if (response.statusCode === 200) {
          const table = tableOf(response, coordinator);
          this.installTable(table);
          return table;
        }
      } catch {
        // The coordinator is unreachable: act as one (the table version settles it).
      }
    }
    const others = this.tableValue.members.filter((existing) => existing.nodeId !== member.nodeId);
    const lift = Math.max(0, callerVersion - this.tableValue.version);
    // A rejoining node restarted empty: drop it first so its partitions count as lost, then add it back.
    const without =
      others.length === this.tableValue.members.length ? this.tableValue : this.nextTable(others);
    const next = this.nextTable([...others, member], without, (without === this.tableValue ? 1 : 2) + lift);
    this.installTable(next);
    this.detector.joined(member.nodeId);
    this.broadcastTable();
    return next;
  }

  /** Leave of `nodeId` (spec: POST /internal/cluster/leave) or removal of a dead node. */
  async handleLeave(nodeId: string): Promise<PartitionTable> {
    if (!this.tableValue.members.some((member) => member.nodeId === nodeId)) {
      throw new DcacheError(DCACHE_ERROR_CODES.NODE_NOT_FOUND, `node ${nodeId} is not in the ring`);
    }
    if (this.options.membership !== 'seeds') {
      throw new DcacheError(DCACHE_ERROR_CODES.REMOVE_NODE, 'membership is managed externally (etcd)');
    }
    const coordinator = this.coordinatorId();
    if (coordinator !== this.nodeId && coordinator !== nodeId) {
      try {
        const response = await this.peers.call(this.addressOf(coordinator), 'POST', INTERNAL_PATHS.leave, {
          body: { node_id: nodeId },
        });
        if (response.statusCode === 200) return tableOf(response, coordinator);
      } catch {
        // act as coordinator
      }
    }
    const remaining = this.tableValue.members.filter((member) => member.nodeId !== nodeId);
    if (remaining.length === 0)
      throw new DcacheError(DCACHE_ERROR_CODES.REMOVE_NODE, 'cannot remove the last node');
    const next = this.nextTable(remaining);
    this.installTable(next);
    this.broadcastTable(nodeId);
    return next;
  }

  /** Recomputes the balanced table from the live members (POST /admin/cluster/rebalance). */
  async rebalance(): Promise<{ ringVersion: number; movedPartitions: number }> {
    if (this.options.membership !== 'seeds') {
      // etcd publishes balanced tables on every membership change; only wait for the moves.
      await this.waitForClusterSettled(this.options.leaveTimeoutMs);
      return { ringVersion: this.tableValue.version, movedPartitions: 0 };
    }
    const coordinator = this.coordinatorId();
    if (coordinator !== this.nodeId) {
      const response = await this.peers.call(this.addressOf(coordinator), 'POST', INTERNAL_PATHS.rebalance, {
        timeoutMs: this.options.leaveTimeoutMs,
      });
      const body = decodeAnswer(ANSWERS.rebalance, response, coordinator);
      return { ringVersion: body.ring_version, movedPartitions: body.moved_partitions };
    }
    const live = this.tableValue.members.filter(
      (member) => member.nodeId === this.nodeId || !this.detector.isDead(member.nodeId),
    );
    const next = this.nextTable(live);
    let moved = 0;
    for (let partition = 0; partition < next.partitionCount; partition++) {
      const before = this.tableValue.owners[partition]!;
      moved += next.owners[partition]!.filter((nodeId) => !before.includes(nodeId)).length;
    }
    if (moved > 0 || live.length !== this.tableValue.members.length) {
      this.installTable(next);
      this.broadcastTable();
    }
    await this.waitForClusterSettled(this.options.leaveTimeoutMs);
    return { ringVersion: this.tableValue.version, movedPartitions: moved };
  }

  protected broadcastTable(alsoNodeId?: string): void {
    const table = this.tableValue;
    const targets = table.members.filter((member) => member.nodeId !== this.nodeId);
    if (alsoNodeId !== undefined && alsoNodeId !== this.nodeId) {
      const address = this.sourceAddress(alsoNodeId);
      if (address !== undefined) targets.push({ nodeId: alsoNodeId, address });
    }
    for (const target of targets) {
      this.peers
        .call(target.address, 'POST', INTERNAL_PATHS.table, {
          body: table,
          timeoutMs: this.options.requestTimeoutMs,
        })
        .catch(() => undefined); // probes re-push to anyone left behind
    }
  }

  /** The join request body: who we are and the ring version we run (the coordinator goes above it). */
  protected joinBody(): { node_id: string; address: string; ring_version: number } {
    return { node_id: this.nodeId, address: this.options.address, ring_version: this.tableValue.version };
  }

  protected async tryJoin(): Promise<void> {
    while (!this.joined && !this.stopped) {
      for (const seed of this.options.seeds) {
        if (seed === this.options.address) continue;
        try {
          const response = await this.peers.call(seed, 'POST', INTERNAL_PATHS.join, {
            body: this.joinBody(),
            timeoutMs: this.options.requestTimeoutMs,
          });
          // A seed that has not joined a cluster itself refuses (see handleJoin): try the next one.
          if (response.statusCode === 200) {
            this.installTable(tableOf(response, seed));
            if (this.joined) return;
          }
        } catch {
          // try the next seed
        }
      }
      const lowest = [...this.options.seeds, this.options.address].sort()[0];
      const waited = this.clock.now() - this.joinStartedAt;
      if (lowest === this.options.address || waited >= this.options.bootstrapTimeoutMs) {
        // Bootstrap: this node founds the cluster; the others join it (or merge into it later).
        this.installTable(this.nextTable([this.self]));
        this.joined = true;
        this.options.logger.info({ ringVersion: this.tableValue.version }, 'bootstrapped a new cluster');
        return;
      }
      await sleep(Math.min(500, this.options.probeIntervalMs), { clock: this.clock });
    }
  }

  /**
   * Split-brain repair, run on every probe round. Nodes started at the same time (or a node that
   * bootstrapped alone because its seeds were slow) can end in separate clusters. For every seed
   * that is not a member of our ring, we read its table; when it runs another cluster that outranks
   * ours (`outranks`: more members, then the lexicographically smaller lowest node id), this node
   * joins that cluster. The rank is the same function on both sides, so exactly one side moves, and
   * every move makes the winner bigger: any set of clusters with overlapping seeds ends as one.
   */
  protected async mergeWithSeedClusters(): Promise<void> {
    const ours = this.tableValue;
    for (const seed of this.options.seeds) {
      if (seed === this.options.address || ours.members.some((member) => member.address === seed)) continue;
      let theirs: PartitionTable | undefined;
      try {
        const found = await this.peers.call(seed, 'GET', INTERNAL_PATHS.table, {
          timeoutMs: this.options.probeTimeoutMs,
        });
        if (found.statusCode === 200) theirs = checkedTable(found.body, this.options.partitionCount);
      } catch {
        continue; // the seed is down or answered nonsense
      }
      if (theirs === undefined || theirs.version === 0) continue;
      if (theirs.members.some((member) => member.nodeId === this.nodeId)) continue;
      if (!outranks(theirs.members, ours.members)) continue;
      if (await this.joinOtherCluster([seed], 'merging into the bigger cluster of a seed')) return;
    }
  }

  /**
   * A running node that finds itself outside its own ring (declared dead during a pause, or its
   * cluster merged into another) joins again through the members of that ring.
   */
  protected async rejoinIfRemoved(): Promise<void> {
    if (this.tableValue.members.some((member) => member.nodeId === this.nodeId)) return;
    const addresses = [
      ...this.tableValue.members.map((member) => member.address),
      ...this.options.seeds.filter((seed) => seed !== this.options.address),
    ];
    await this.joinOtherCluster(addresses, 'not a member of the ring any more: joining again');
  }

  /**
   * Joins the cluster one of `addresses` belongs to, leaving the current one. What this node
   * stored for its old cluster is carried over: it is emptied, joins, and sends every carried
   * entry to that entry's primary in the new cluster (`pushCarried`), which keeps the newer by
   * (epoch, counter). Its partitions are pulled from their new holders as for any joiner.
   */
  protected async joinOtherCluster(addresses: readonly string[], reason: string): Promise<boolean> {
    for (const address of addresses) {
      try {
        const joined = await this.peers.call(address, 'POST', INTERNAL_PATHS.join, {
          body: this.joinBody(),
          timeoutMs: this.options.requestTimeoutMs,
        });
        if (joined.statusCode !== 200) continue;
        this.options.logger.warn({ via: address }, reason);
        const carried = this.exportPartitions(this.allPartitions());
        this.tableValue = assignTable(undefined, [this.self], {
          replicas: this.options.replicas,
          partitionCount: this.options.partitionCount,
          version: 0,
          coordinator: this.nodeId,
        });
        this.sourceTables = [];
        this.incoming.clear();
        this.notHeldSince.clear();
        for (let partition = 0; partition < this.options.partitionCount; partition++)
          this.store.dropPartition(partition);
        this.installTable(tableOf(joined, address));
        if (carried.length > 0) void this.pushCarried(carried);
        return true;
      } catch {
        // try the next address
      }
    }
    return false;
  }

  private allPartitions(): number[] {
    return Array.from({ length: this.options.partitionCount }, (_, partition) => partition);
  }

  /**
   * Sends entries carried over from a cluster this node left to their primaries, grouped by
   * primary; groups that fail (the table is still changing after the merge) are retried under
   * the then current table until they land or the node stops.
   */
  protected async pushCarried(entries: WireEntry[]): Promise<void> {
    let pending = entries;
    for (let attempt = 0; pending.length > 0 && !this.stopped && attempt < 50; attempt++) {
      if (attempt > 0)
        await sleep(Math.min(1000, this.options.probeIntervalMs * (attempt + 1)), { clock: this.clock });
      const byPrimary = new Map<string, WireEntry[]>();
      for (const entry of pending) {
        const primary = this.holdersOf(entry[0]).holders[0] ?? this.nodeId;
        pushTo(byPrimary, primary, entry);
      }
      const failed: WireEntry[] = [];
      await Promise.all(
        [...byPrimary].map(async ([primary, group]) => {
          try {
            if (primary === this.nodeId) await this.mergeEntries(group);
            else {
              const response = await this.peers.call(this.addressOf(primary), 'POST', INTERNAL_PATHS.merge, {
                body: { entries: group },
                headers: this.internalHeaders(),
              });
              if (response.statusCode !== 200) throw new Error(`merge at ${primary}: ${response.statusCode}`);
            }
          } catch {
            failed.push(...group);
          }
        }),
      );
      pending = failed;
    }
    this.options.logger.info({ carried: entries.length, unplaced: pending.length }, 'carried entries merged');
  }

  /** Graceful leave: the ring drops this node, then it waits until the others pulled its partitions. */
  async leave(): Promise<void> {
    if (this.leaving || this.tableValue.members.length <= 1) return;
    this.leaving = true;
    try {
      await this.handleLeave(this.nodeId);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'leave failed');
      return;
    }
    await this.waitForClusterSettled(this.options.leaveTimeoutMs);
  }

  /** One probe round per interval, on the node's clock; the next is scheduled when one ends. */
  protected scheduleTick(): void {
    if (this.stopped) return;
    this.probeTimer = this.clock.setTimeout(() => {
      this.tick()
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'probe round failed'))
        .finally(() => this.scheduleTick());
    }, this.options.probeIntervalMs);
  }

  protected async tick(): Promise<void> {
    if (this.probing || this.stopped) return;
    this.probing = true;
    try {
      this.store.sweepExpired(5000);
      this.dropStalePartitions();
      const started = this.clock.now();
      const others = this.tableValue.members.filter((member) => member.nodeId !== this.nodeId);
      await Promise.all(others.map((member) => this.probeMember(member)));
      // Every reachable peer was asked and any newer table adopted: the table is confirmed as of
      // the round's start (never later: answers may have waited out a pause in the socket).
      this.tableCheckedAt = started;
      this.maybeRepair();
      if (!this.leaving) await this.removeDeadMembers();
      if (this.joined && !this.leaving && this.options.membership === 'seeds') {
        await this.rejoinIfRemoved();
        await this.mergeWithSeedClusters();
      }
    } finally {
      this.probing = false;
    }
  }

  protected async removeDeadMembers(): Promise<void> {
    const dead = this.detector.deadMembers();
    if (dead.length === 0 || this.coordinatorId() !== this.nodeId) return;
    const remaining = this.tableValue.members.filter((member) => !dead.includes(member.nodeId));
    if (remaining.length === this.tableValue.members.length) return;
    this.options.logger.warn({ dead }, 'removing dead nodes from the ring');
    this.installTable(this.nextTable(remaining));
    this.broadcastTable();
  }
}
