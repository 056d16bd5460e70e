import type { ClusterTopology } from './cluster-topology';

/**
 * GunYu's rule for cluster → cluster transaction mode (cmd/syncer.go): the same shard count, the same
 * slot ranges per shard, and no slot migrating or importing on either side. Only then does every
 * source shard's stream land on exactly one target master, so one atomic script per batch can hold
 * the batch and its checkpoint.
 */
export function clusterTransactionAllowed(source: ClusterTopology, target: ClusterTopology): boolean {
  if (source.migrating || target.migrating) return false;
  if (source.shards.length !== target.shards.length) return false;
  const layouts = (topology: ClusterTopology): string[] =>
    topology.shards.map((shard) => shard.slots.map(([from, to]) => `${from}-${to}`).join(',')).sort();
  const left = layouts(source);
  const right = layouts(target);
  return left.every((layout, index) => layout === right[index]);
}
