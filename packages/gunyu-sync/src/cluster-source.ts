import type { Logger } from '@kvforge/runtime';
import {
  type ClusterShard,
  type ClusterTopology,
  chooseSyncNode,
  type SyncFrom,
} from './core/cluster/cluster-topology';
import { keyInSlots } from './core/cluster/key-slot';
import { clusterTransactionAllowed } from './core/cluster/transaction-mode';
import { endpointOf, readClusterTopology } from './net/cluster-nodes';
import type { RedisEndpoint } from './replay/target-connection';
import type { Syncer } from './syncer';

export interface ClusterSourceOptions {
  seeds: readonly string[];
  /** Credentials and TLS of every source node. */
  template: RedisEndpoint;
  syncFrom: SyncFrom;
  /** `static`: only shards holding one of `seeds`, synced from that very node; else every shard. */
  mode: 'dynamic' | 'static' | 'auto';
  checkpointBase: string;
  syncDelayTestKey: string;
  checkIntervalMs: number;
  /** Cluster → cluster with replayTransaction: the target's seeds, to decide transaction mode. */
  transactionTarget?: { seeds: readonly string[]; template: RedisEndpoint } | undefined;
}

/** What a shard's pipeline needs, derived from the topology. */
export interface ShardPlan {
  /** Slot ranges of the shard, the identity of a pipeline across failovers. */
  layout: string;
  slots: [number, number][];
  nodeAddress: string;
  node: RedisEndpoint;
  master: RedisEndpoint;
  checkpointName: string;
  syncDelayTestKey: string;
  /** Shards of the source (the disk spool budget is split across them). */
  shardCount: number;
}

/**
 * Source side of cluster sync: one pipeline per shard on the node `syncFrom` picks, re-checked every
 * `server.checkRedisTypologyTicker`. A failover (same slots, another node chosen) restarts only that
 * shard's pipeline; a changed slot layout restarts every pipeline (as GunYu does).
 */
export class ClusterSource {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private lastTopology: ClusterTopology | undefined;
  /** Pipelines by shard layout. */
  readonly pipelines = new Map<string, Syncer>();

  constructor(
    private readonly options: ClusterSourceOptions,
    private readonly createSyncer: (plan: ShardPlan) => Syncer,
    private readonly logger: Logger,
  ) {}

  /** Discovers the shards and creates (not starts) one syncer per shard. */
  async discover(): Promise<Syncer[]> {
    const topology = await readClusterTopology(this.options.seeds, this.options.template);
    this.lastTopology = topology;
    const syncers: Syncer[] = [];
    for (const plan of this.plans(topology)) {
      const syncer = this.createSyncer(plan);
      this.pipelines.set(plan.layout, syncer);
      syncers.push(syncer);
    }
    return syncers;
  }

  watch(onRebuild: () => Promise<void>): void {
    this.timer = setInterval(() => {
      if (this.checking) return;
      this.checking = true;
      this.check(onRebuild)
        .catch((error: Error) => this.logger.warn({ error: error.message }, 'source topology check failed'))
        .finally(() => {
          this.checking = false;
        });
    }, this.options.checkIntervalMs);
    this.timer.unref();
  }

  stopWatching(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private knownAddresses(): string[] {
    const known = this.lastTopology?.nodes.filter((node) => !node.failing).map((node) => node.address) ?? [];
    return [...new Set([...known, ...this.options.seeds])];
  }

  /** One topology check: re-target moved shards, or ask for a rebuild when the slot layout changed. */
  async check(onRebuild: () => Promise<void>): Promise<void> {
    const topology = await readClusterTopology(this.knownAddresses(), this.options.template);
    this.lastTopology = topology;
    const plans = this.plans(topology);
    const layoutsNow = plans
      .map((plan) => plan.layout)
      .sort()
      .join(' ');
    const layoutsBefore = [...this.pipelines.keys()].sort().join(' ');
    // A migration starting on either side ends transaction mode; identical layouts again bring it back.
    const transaction = await this.transactionAllowed(topology);
    if (transaction !== undefined)
      await Promise.all(
        [...this.pipelines.values()].map((syncer) => syncer.reevaluateTransaction(transaction)),
      );
    if (topology.migrating) return; // wait until a slot migration has ended
    if (layoutsNow !== layoutsBefore) {
      this.logger.info(
        { before: layoutsBefore, now: layoutsNow },
        'source slot layout changed: all pipelines restart',
      );
      await onRebuild();
      return;
    }
    await Promise.all(
      plans.map(async (plan) => {
        const syncer = this.pipelines.get(plan.layout);
        if (!syncer) return;
        // The probe follows the shard's master (a promoted replica), whether or not the input moves.
        syncer.options.probeEndpoint = plan.master;
        if (syncer.options.inputAddress === plan.nodeAddress) return;
        this.logger.info(
          { shard: plan.layout, from: syncer.options.inputAddress, to: plan.nodeAddress },
          'source shard node changed',
        );
        await syncer.retarget(plan.nodeAddress, plan.node);
      }),
    );
  }

  /**
   * Cluster → cluster transaction mode for `source` (read now when absent) and the target as it is
   * now; undefined when this pair never uses it or the target cannot be read now. The topology watch
   * then leaves every pipeline's mode as it is (one failed read must not restart them into plain mode
   * and back); a session start treats it as plain mode.
   */
  async transactionAllowed(source?: ClusterTopology): Promise<boolean | undefined> {
    const target = this.options.transactionTarget;
    if (!target) return undefined;
    const sourceNow = source ?? (await readClusterTopology(this.knownAddresses(), this.options.template));
    const targetNow = await readClusterTopology(target.seeds, target.template).catch(() => undefined);
    return targetNow === undefined ? undefined : clusterTransactionAllowed(sourceNow, targetNow);
  }

  plans(topology: ClusterTopology): ShardPlan[] {
    const plans: ShardPlan[] = [];
    const shardCount = topology.shards.length;
    for (const shard of topology.shards) {
      const node = this.nodeOf(shard);
      if (!node) {
        this.logger.warn(
          { master: shard.master.address },
          'no node to sync this shard from (syncFrom: slave)',
        );
        continue;
      }
      plans.push({
        layout: shard.slots.map(([from, to]) => `${from}-${to}`).join(','),
        slots: shard.slots,
        nodeAddress: node,
        node: endpointOf(node, this.options.template),
        master: endpointOf(shard.master.address, this.options.template),
        checkpointName: keyInSlots(this.options.checkpointBase, shard.slots),
        syncDelayTestKey: this.options.syncDelayTestKey
          ? keyInSlots(this.options.syncDelayTestKey, shard.slots)
          : '',
        shardCount,
      });
    }
    return plans;
  }

  private nodeOf(shard: ClusterShard): string | undefined {
    if (this.options.mode === 'static') {
      const members = [shard.master, ...shard.replicas].map((node) => node.address);
      return this.options.seeds.find((seed) => members.includes(seed));
    }
    return chooseSyncNode(shard, this.options.syncFrom)?.address;
  }
}
