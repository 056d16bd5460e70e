import type { DcacheNode } from '../node/dcache-node';
import type { MemberHealth } from '../node/node-options';

/** The spec's JSON views of a node's state, shared by the client and admin routes. */

export const isoNow = () => new Date().toISOString();

export function nodeView(node: DcacheNode, nodeId: string, address: string, state: MemberHealth | undefined) {
  const self = nodeId === node.nodeId;
  return {
    node_id: nodeId,
    address,
    status: self ? 'healthy' : (state?.status ?? 'healthy'),
    last_seen: new Date(self ? Date.now() : state?.lastSeen || node.lastMembershipChange).toISOString(),
    response_time: self ? 0 : (state?.responseTimeMs ?? 0),
  };
}
export type NodeView = ReturnType<typeof nodeView>;

export function clusterStatus(node: DcacheNode) {
  const nodes = node.table.members.map((member) =>
    nodeView(node, member.nodeId, member.address, node.health.get(member.nodeId)),
  );
  const healthy = nodes.filter((entry) => entry.status === 'healthy').length;
  return {
    total_nodes: nodes.length,
    healthy_nodes: healthy,
    unhealthy_nodes: nodes.length - healthy,
    nodes,
    last_update: new Date(node.lastMembershipChange).toISOString(),
  };
}

export function cacheStats(node: DcacheNode) {
  const stats = node.store.snapshotStats();
  const requests = stats.hits + stats.misses;
  return {
    total_Hits: stats.hits,
    total_Misses: stats.misses,
    total_Size: stats.entries,
    total_Bytes: stats.bytes,
    total_Requests: requests,
    hit_Rate: requests === 0 ? 0 : stats.hits / requests,
    total_Evictions: stats.evictions,
    total_Expired: stats.expired,
  };
}

/** A read answer in the spec's field order, built as one string (the value is already JSON). */
export function readBody(keyJson: string, valueJson: string, found: boolean, nodeIdJson: string): string {
  return `{"key":${keyJson},"value":${valueJson},"found":${found},"node_id":${nodeIdJson}}`;
}

/** A write answer in the spec's field order. */
export function writeBody(keyJson: string, valueJson: string, nodeIdJson: string): string {
  return `{"key":${keyJson},"value":${valueJson},"found":true,"node_id":${nodeIdJson},"message":"success"}`;
}
