import type { ZodTypeProvider } from '@kvforge/common-http';
import type { FastifyInstance } from 'fastify';
import type { DcacheNode } from '../node/dcache-node';
import { type BodySchemas, noQuery } from './route-schemas';
import { cacheStats, clusterStatus, isoNow, type NodeView, nodeView } from './views';

/** The spec's admin API (`/admin/…`). */
export function registerAdminRoutes(parent: FastifyInstance, node: DcacheNode, bodies: BodySchemas): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();

  app.get('/admin/cluster', { schema: { querystring: noQuery } }, async () => ({
    cluster_status: clusterStatus(node),
    current_node: node.nodeId,
    ring_version: node.table.version,
    timestamp: isoNow(),
  }));

  app.get('/admin/nodes', { schema: { querystring: noQuery } }, async () => {
    const nodes: Record<string, NodeView> = {};
    for (const member of node.table.members) {
      nodes[member.nodeId] = nodeView(node, member.nodeId, member.address, node.health.get(member.nodeId));
    }
    return { nodes, count: node.table.members.length, timestamp: isoNow() };
  });

  app.get('/admin/metrics', { schema: { querystring: noQuery } }, async () => {
    const status = clusterStatus(node);
    const migration = node.migration;
    return {
      node_id: node.nodeId,
      cache_stats: cacheStats(node),
      migration_stats: {
        MigratedKeys: migration.migratedKeys,
        Duration: `${migration.durationMs}ms`,
        LastMigration: migration.lastMigration === 0 ? null : new Date(migration.lastMigration).toISOString(),
        Running: migration.running,
        PendingPartitions: migration.pendingPartitions,
        Migrations: migration.migrations,
      },
      cluster_stats: {
        total_nodes: status.total_nodes,
        healthy_nodes: status.healthy_nodes,
        unhealthy_nodes: status.unhealthy_nodes,
      },
      forward_stats: { ...node.counters },
      ring_version: node.table.version,
      timestamp: isoNow(),
    };
  });

  app.post('/admin/cluster/rebalance', { schema: { querystring: noQuery, body: bodies.none } }, async () => {
    const result = await node.rebalance();
    return {
      message: 'rebalance completed',
      node_id: node.nodeId,
      ring_version: result.ringVersion,
      moved_partitions: result.movedPartitions,
      timestamp: isoNow(),
    };
  });
}
