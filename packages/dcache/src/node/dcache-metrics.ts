import { LATENCY_SECONDS_HTTP_BUCKETS } from '@kvforge/metrics';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DcacheNode } from './dcache-node';

export interface DcacheMetrics {
  requestDuration: Histogram<'method' | 'route' | 'status'>;
}

/** Registers dcache's metrics; most are read from the node when scraped, so the hot path pays nothing. */
export function registerDcacheMetrics(node: DcacheNode, registry: Registry): DcacheMetrics {
  const labels = { node: node.nodeId };
  const fromNode = (
    name: string,
    help: string,
    read: () => number,
    type: 'counter' | 'gauge' = 'counter',
  ) => {
    const options = {
      name,
      help,
      labelNames: ['node'] as const,
      registers: [registry],
      collect(this: Counter<'node'> | Gauge<'node'>) {
        this.reset();
        if (this instanceof Counter) this.inc(labels, read());
        else this.set(labels, read());
      },
    };
    if (type === 'counter') new Counter(options);
    else new Gauge(options);
  };
  fromNode('cache_hits_total', 'Total number of cache hits', () => node.store.stats.hits);
  fromNode('cache_misses_total', 'Total number of cache misses', () => node.store.stats.misses);
  fromNode('cache_evictions_total', 'Entries evicted by the memory bound', () => node.store.stats.evictions);
  fromNode('cache_expired_total', 'Entries removed by TTL', () => node.store.stats.expired);
  fromNode('cache_entries', 'Live entries', () => node.store.snapshotStats().entries, 'gauge');
  fromNode(
    'cache_bytes',
    'Accounted bytes of keys and values',
    () => node.store.snapshotStats().bytes,
    'gauge',
  );
  fromNode('dcache_forwards_total', 'Requests forwarded to another node', () => node.counters.forwards);
  fromNode('dcache_forward_failures_total', 'Forwards that failed', () => node.counters.forwardFailures);
  fromNode(
    'dcache_replica_fallback_reads_total',
    'Reads served by a replica',
    () => node.counters.replicaFallbacks,
  );
  fromNode(
    'dcache_migration_fallback_reads_total',
    'Reads served from a previous owner during a migration',
    () => node.counters.migrationFallbackReads,
  );
  fromNode(
    'dcache_partitions_out_of_sync',
    'Partitions this primary found differing from a replica and has not repaired yet',
    () => node.repair.outOfSync.size,
    'gauge',
  );
  fromNode(
    'dcache_repaired_partitions_total',
    'Partitions brought in sync with a replica by anti-entropy',
    () => node.repair.repairedPartitions,
  );
  fromNode('dcache_migration_keys_total', 'Keys received by migrations', () => node.migration.migratedKeys);
  fromNode(
    'dcache_migration_pending_partitions',
    'Partitions still to pull',
    () => node.migration.pendingPartitions,
    'gauge',
  );
  fromNode('dcache_ring_version', 'Version of the partition table', () => node.table.version, 'gauge');
  fromNode('dcache_ring_members', 'Members in the partition table', () => node.table.members.length, 'gauge');
  fromNode(
    'dcache_partitions_owned',
    'Partitions this node is primary for',
    () => node.table.owners.filter((holders) => holders[0] === node.nodeId).length,
    'gauge',
  );
  fromNode(
    'dcache_partitions_held',
    'Partitions this node holds (primary or replica)',
    () => node.table.owners.filter((holders) => holders.includes(node.nodeId)).length,
    'gauge',
  );
  const requestDuration = new Histogram({
    name: 'dcache_http_request_duration_seconds',
    help: 'HTTP request duration by route template',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [...LATENCY_SECONDS_HTTP_BUCKETS],
    registers: [registry],
  });
  return { requestDuration };
}
