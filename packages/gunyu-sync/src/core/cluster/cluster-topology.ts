import { CLUSTER_SLOTS } from './key-slot';

/** One node of a `CLUSTER NODES` reply. */
export interface ClusterNode {
  id: string;
  /** `host:port` (the client port, without `@bus`). */
  address: string;
  role: 'master' | 'replica';
  /** The master's id for a replica, '' for a master. */
  masterId: string;
  /** Flagged `fail`/`pfail`/`noaddr`/`handshake`: not to be synced from. */
  failing: boolean;
  /** Slot ranges served (masters), inclusive. */
  slots: [number, number][];
  /** A slot of this node is being migrated or imported (`[slot->-id]` / `[slot-<-id]`). */
  migrating: boolean;
}

/** A master and its replicas: what one source pipeline follows. */
export interface ClusterShard {
  master: ClusterNode;
  replicas: ClusterNode[];
  slots: [number, number][];
}

export interface ClusterTopology {
  nodes: ClusterNode[];
  /** Masters that serve slots, in slot order. */
  shards: ClusterShard[];
  migrating: boolean;
}

/** Parses `CLUSTER NODES` (cluster.c clusterGenNodeDescription). */
export function parseClusterNodes(text: string): ClusterTopology {
  const nodes: ClusterNode[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    if (fields.length < 8) continue;
    const [id, addressField, flagsField, masterField] = fields as [string, string, string, string];
    const flags = flagsField.split(',');
    const address = addressField.split('@')[0]?.split(',')[0] ?? '';
    const slots: [number, number][] = [];
    let migrating = false;
    for (const part of fields.slice(8)) {
      if (part.startsWith('[')) {
        migrating = true;
        continue;
      }
      const [from, to] = part.split('-');
      const low = Number(from);
      const high = to === undefined ? low : Number(to);
      if (Number.isInteger(low) && Number.isInteger(high)) slots.push([low, high]);
    }
    nodes.push({
      id,
      address,
      role: flags.includes('master') ? 'master' : 'replica',
      masterId: masterField === '-' ? '' : masterField,
      failing:
        flags.some((flag) => ['fail', 'fail?', 'noaddr', 'handshake'].includes(flag)) ||
        address.startsWith(':'),
      slots,
      migrating,
    });
  }
  const shards = nodes
    .filter((node) => node.role === 'master' && node.slots.length > 0)
    .map((master) => ({
      master,
      replicas: nodes.filter((node) => node.role === 'replica' && node.masterId === master.id),
      slots: [...master.slots].sort((a, b) => a[0] - b[0]),
    }))
    .sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0));
  return { nodes, shards, migrating: nodes.some((node) => node.migrating) };
}

/** slot → index into `shards` (-1: unserved). */
export function slotOwners(topology: ClusterTopology): Int16Array {
  const owners = new Int16Array(CLUSTER_SLOTS).fill(-1);
  topology.shards.forEach((shard, index) => {
    for (const [from, to] of shard.slots) owners.fill(index, from, to + 1);
  });
  return owners;
}

export type SyncFrom = 'prefer_slave' | 'master' | 'slave';

/**
 * The node a shard is synced from (input.syncFrom): `master`; `slave` (a healthy replica, none if
 * there is none); `prefer_slave` (a healthy replica, else the master). Replicas are taken in address
 * order so a restart picks the same node.
 */
export function chooseSyncNode(shard: ClusterShard, syncFrom: SyncFrom): ClusterNode | undefined {
  if (syncFrom === 'master') return shard.master;
  const replicas = shard.replicas
    .filter((node) => !node.failing)
    .sort((a, b) => a.address.localeCompare(b.address));
  if (replicas[0]) return replicas[0];
  return syncFrom === 'slave' ? undefined : shard.master;
}

/** The slot layout of a topology as a comparable string (same shards, same ranges). */
export function slotLayout(topology: ClusterTopology): string {
  return topology.shards.map((shard) => shard.slots.map(([a, b]) => `${a}-${b}`).join(',')).join('|');
}
