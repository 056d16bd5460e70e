import { MEDIUM } from './codes';
import type { MetaService } from './meta-service';
import { OPERATIONS } from './operation-counters';

/** This node's HA role for the kvforge families after the spec's (a standalone node is its own leader). */
export interface HaRole {
  leading: boolean;
  viewVersion: number;
}

/**
 * GET /metrics: the spec's families in order, hand-rendered (no blank lines between families), then the
 * kvforge HA families (absent from the spec, appended so its part stays byte-identical).
 */
export function renderPrometheus(service: MetaService, ha?: HaRole): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string, samples: string[]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
  };
  for (const operation of OPERATIONS) {
    const count = service.counters.get(operation.id);
    const prefix = `memcache_${operation.id}`;
    family(`${prefix}_requests_total`, 'counter', `Total number of ${operation.help} requests`, [
      `${prefix}_requests_total ${count.requests}`,
    ]);
    family(`${prefix}_successes_total`, 'counter', `Total number of ${operation.help} successes`, [
      `${prefix}_successes_total ${count.successes}`,
    ]);
    family(`${prefix}_failures_total`, 'counter', `Total number of ${operation.help} failures`, [
      `${prefix}_failures_total ${count.failures}`,
    ]);
    if (operation.notFound) {
      family(`${prefix}_not_found_total`, 'counter', `Total number of ${operation.help} not found results`, [
        `${prefix}_not_found_total ${count.notFound}`,
      ]);
    }
  }
  const manager = service.manager;
  family('memcache_evict_operations_total', 'counter', 'Total number of evict operations', [
    `memcache_evict_operations_total ${manager.evictedObjects}`,
  ]);
  family('memcache_stored_keys', 'gauge', 'Total number of stored keys', [
    `memcache_stored_keys ${manager.keyCount}`,
  ]);
  const segments = manager.listSegments();
  family(
    'memcache_segment_capacity_bytes',
    'gauge',
    'Segment total capacity in bytes',
    segments.map(
      (segment) => `memcache_segment_capacity_bytes{segment="${segment.name}"} ${segment.allocator.capacity}`,
    ),
  );
  family(
    'memcache_segment_allocated_bytes',
    'gauge',
    'Segment allocated bytes',
    segments.map(
      (segment) =>
        `memcache_segment_allocated_bytes{segment="${segment.name}"} ${segment.allocator.usedBytes}`,
    ),
  );
  const hbm = manager.usage(MEDIUM.HBM);
  const dram = manager.usage(MEDIUM.DRAM);
  family('memcache_total_capacity_bytes', 'gauge', 'Total capacity by medium in bytes', [
    `memcache_total_capacity_bytes{medium="hbm"} ${hbm.totalBytes}`,
    `memcache_total_capacity_bytes{medium="dram"} ${dram.totalBytes}`,
  ]);
  family('memcache_allocated_bytes', 'gauge', 'Allocated bytes by medium', [
    `memcache_allocated_bytes{medium="hbm"} ${hbm.usedBytes}`,
    `memcache_allocated_bytes{medium="dram"} ${dram.usedBytes}`,
  ]);
  if (ha) {
    family(
      'memcache_ha_leader',
      'gauge',
      'Whether this meta service serves as the HA leader (1) or not (0)',
      [`memcache_ha_leader ${ha.leading ? 1 : 0}`],
    );
    family(
      'memcache_ha_view_version',
      'gauge',
      'HA view version (the leader key create revision; up once per leadership change)',
      [`memcache_ha_view_version ${ha.viewVersion}`],
    );
    family(
      'memcache_ha_restoring_ranks',
      'gauge',
      'Ranks whose blob maps are being rebuilt after a failover',
      [`memcache_ha_restoring_ranks ${service.restoringRanks.size}`],
    );
  }
  return `${lines.join('\n')}\n`;
}

/** GET /metrics/summary: one line of 62 `k=v` fields in the spec's order, no trailing newline. */
export function renderSummary(service: MetaService): string {
  const manager = service.manager;
  const hbm = manager.usage(MEDIUM.HBM);
  const dram = manager.usage(MEDIUM.DRAM);
  const fields = [
    `keys=${manager.keyCount}`,
    `evict=${manager.evictedObjects}`,
    `hbm_used=${hbm.usedBytes}/${hbm.totalBytes}`,
    `dram_used=${dram.usedBytes}/${dram.totalBytes}`,
  ];
  for (const operation of OPERATIONS) {
    const count = service.counters.get(operation.id);
    fields.push(
      `${operation.id}_req=${count.requests}`,
      `${operation.id}_success=${count.successes}`,
      `${operation.id}_fail=${count.failures}`,
    );
    if (operation.notFound) fields.push(`${operation.id}_not_found=${count.notFound}`);
  }
  return fields.join(' ');
}
