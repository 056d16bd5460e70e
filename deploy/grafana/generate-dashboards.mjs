#!/usr/bin/env node
// Writes deploy/grafana/<product>.json: importable Grafana dashboards (schemaVersion 39) with a
// Prometheus datasource variable. Panels use only metrics the services expose; the products'
// openapi-docs tests scrape each service and fail otherwise. Run after editing:
// node deploy/grafana/generate-dashboards.mjs && npx biome format --write deploy/grafana
import { writeFileSync } from 'node:fs';

const R = '$__rate_interval';
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax, not a JS template.
const DS = { type: 'prometheus', uid: '${datasource}' };

function panel(id, title, unit, targets, gridPos, type = 'timeseries') {
  return {
    id,
    type,
    title,
    datasource: DS,
    gridPos,
    fieldConfig: { defaults: { unit }, overrides: [] },
    options: {},
    targets: targets.map(([expr, legendFormat], index) => ({
      refId: String.fromCharCode(65 + index),
      datasource: DS,
      expr,
      legendFormat,
    })),
  };
}

/** Lays panels out two per row, 12 wide × 8 high, in the order given. */
function dashboard(uid, title, description, specs) {
  const panels = specs.map(([title, unit, targets, type], index) =>
    panel(
      index + 1,
      title,
      unit,
      targets,
      { x: (index % 2) * 12, y: Math.floor(index / 2) * 8, w: 12, h: 8 },
      type,
    ),
  );
  return {
    uid,
    title,
    description,
    tags: ['kvforge'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }],
    },
    annotations: { list: [] },
    panels,
  };
}

const quantiles = (metric, by) =>
  [0.5, 0.99].map((q) => [
    `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}[${R}])))`,
    `p${q * 100}${by ? ` {{${by}}}` : ''}`,
  ]);

const dashboards = {
  kvstore: dashboard('kvforge-kvstore', 'kvforge / kvstore', 'KvStoreProxy and ConfigServer', [
    [
      'Throughput by command',
      'ops',
      [[`sum by (command) (rate(kvstore_proxy_commands_total[${R}]))`, '{{command}}']],
    ],
    ['Latency percentiles', 's', quantiles('kvstore_proxy_command_duration_seconds_bucket')],
    [
      'Errors',
      'ops',
      [
        [`sum(rate(kvstore_proxy_command_errors_total[${R}]))`, 'command errors'],
        [`sum(rate(kvstore_proxy_backend_errors_total[${R}]))`, 'backend errors'],
        [`sum(rate(kvstore_proxy_request_timeouts_total[${R}]))`, 'timeouts'],
        [`sum(rate(kvstore_proxy_slow_commands_total[${R}]))`, 'slow commands'],
      ],
    ],
    [
      'Rejected (limits)',
      'ops',
      [
        [`sum(rate(kvstore_proxy_rejected_qps_total[${R}]))`, 'max_qps'],
        [`sum(rate(kvstore_proxy_rejected_clients_total[${R}]))`, 'max_client_num'],
      ],
    ],
    [
      'Connected clients (capacity)',
      'short',
      [['sum by (instance) (kvstore_proxy_clients)', '{{instance}}']],
    ],
    ['Bucket table version per proxy', 'short', [['kvstore_proxy_bucket_table_version', '{{instance}}']]],
    [
      'Migration progress',
      'percentunit',
      [
        [
          'kvstore_cs_migration_buckets_done / clamp_min(kvstore_cs_migration_buckets_total, 1)',
          '{{namespace}}',
        ],
      ],
    ],
    [
      'Migration speed',
      'short',
      [
        ['kvstore_cs_migration_keys_per_second', 'keys/s {{namespace}}'],
        ['kvstore_cs_migration_max_keys_per_second', 'limit {{namespace}}'],
        ['kvstore_cs_migration_running', 'running {{namespace}}'],
      ],
    ],
    [
      'ConfigServer HA role (1 = master) and table versions',
      'short',
      [
        ['kvstore_cs_master', 'master {{instance}}'],
        ['kvstore_cs_table_version', 'version {{namespace}} {{instance}}'],
      ],
    ],
    ['Targets up', 'short', [['up{job=~"kvstore.*"}', '{{job}} {{instance}}']]],
  ]),
  'gunyu-sync': dashboard('kvforge-gunyu-sync', 'kvforge / gunyu-sync', 'GunYu metric names (redisGunYu_*)', [
    [
      'Commands replayed',
      'ops',
      [
        [`sum by (input) (rate(redisGunYu_output_send_cmd[${R}]))`, 'sent {{input}}'],
        [`sum by (input) (rate(redisGunYu_output_success_cmd[${R}]))`, 'ok {{input}}'],
        [`sum by (input) (rate(redisGunYu_output_rdb_key_send[${R}]))`, 'RDB keys {{input}}'],
      ],
    ],
    ['Bytes sent', 'Bps', [[`sum by (input) (rate(redisGunYu_output_send_size[${R}]))`, '{{input}}']]],
    ['Sync delay (probe key)', 'ns', [['redisGunYu_output_sync_delay', '{{input}}']]],
    [
      'Replication lag (source offset − acked)',
      'bytes',
      [['redisGunYu_input_offset - redisGunYu_output_ack_offset', '{{input}}']],
    ],
    [
      'Errors',
      'ops',
      [
        [`sum by (input) (rate(redisGunYu_output_fail_cmd[${R}]))`, 'target rejected {{input}}'],
        [`sum by (input) (rate(redisGunYu_output_cross_slot_cmd[${R}]))`, 'cross-slot {{input}}'],
      ],
    ],
    ['Full sync progress', 'percent', [['redisGunYu_output_full_sync', '{{input}}']]],
    [
      'Spool (capacity)',
      'bytes',
      [
        ['redisGunYu_storage_size', 'disk {{input}}'],
        ['redisGunYu_spool_memory_bytes', 'memory {{input}}'],
      ],
    ],
    ['HA role (1 = leader)', 'short', [['redisGunYu_fencing_leader', '{{instance}} {{input}}']]],
    [
      'Role changes',
      'short',
      [[`sum by (input) (increase(redisGunYu_syncer_role_change[${R}]))`, '{{input}}']],
    ],
    ['Sync state', 'short', [['redisGunYu_input_sync_state == 1', '{{input}} {{state}}']]],
  ]),
  dcache: dashboard('kvforge-dcache', 'kvforge / dcache', 'dcache nodes: requests, ring, rebalancing', [
    [
      'Requests by route',
      'reqps',
      [
        [
          `sum by (method, route) (rate(dcache_http_request_duration_seconds_count[${R}]))`,
          '{{method}} {{route}}',
        ],
      ],
    ],
    ['Latency percentiles', 's', quantiles('dcache_http_request_duration_seconds_bucket', 'route')],
    [
      'Hit ratio',
      'percentunit',
      [
        [
          `sum(rate(cache_hits_total[${R}])) / clamp_min(sum(rate(cache_hits_total[${R}])) + sum(rate(cache_misses_total[${R}])), 1e-9)`,
          'hits',
        ],
      ],
    ],
    [
      'Errors',
      'reqps',
      [
        [`sum(rate(dcache_http_request_duration_seconds_count{status=~"5.."}[${R}]))`, '5xx'],
        [`sum(rate(dcache_forward_failures_total[${R}]))`, 'forward failures'],
      ],
    ],
    [
      'Forwarding and fallback reads',
      'ops',
      [
        [`sum by (node) (rate(dcache_forwards_total[${R}]))`, 'forwards {{node}}'],
        [`sum(rate(dcache_replica_fallback_reads_total[${R}]))`, 'replica fallback'],
        [`sum(rate(dcache_migration_fallback_reads_total[${R}]))`, 'migration fallback'],
      ],
    ],
    ['Memory (capacity)', 'bytes', [['cache_bytes', '{{node}}']]],
    [
      'Entries and evictions',
      'short',
      [
        ['cache_entries', 'entries {{node}}'],
        [`sum by (node) (rate(cache_evictions_total[${R}]))`, 'evicted/s {{node}}'],
        [`sum by (node) (rate(cache_expired_total[${R}]))`, 'expired/s {{node}}'],
      ],
    ],
    [
      'Rebalance progress',
      'short',
      [
        ['dcache_migration_pending_partitions', 'pending partitions {{node}}'],
        [`sum by (node) (rate(dcache_migration_keys_total[${R}]))`, 'keys/s {{node}}'],
      ],
    ],
    [
      'Ring',
      'short',
      [
        ['dcache_ring_members', 'members {{node}}'],
        ['dcache_ring_version', 'version {{node}}'],
      ],
    ],
    [
      'Partitions',
      'short',
      [
        ['dcache_partitions_owned', 'owned {{node}}'],
        ['dcache_partitions_held', 'held {{node}}'],
        ['dcache_partitions_out_of_sync', 'out of sync {{node}}'],
        [`sum by (node) (increase(dcache_repaired_partitions_total[${R}]))`, 'repaired {{node}}'],
      ],
    ],
  ]),
  'memcache-hybrid': dashboard(
    'kvforge-memcache-hybrid',
    'kvforge / memcache-hybrid',
    'meta service: requests, capacity, eviction',
    [
      [
        'Requests',
        'ops',
        ['alloc', 'get', 'remove', 'update_state', 'query', 'exist_key'].map((name) => [
          `sum(rate(memcache_${name}_requests_total[${R}])) + sum(rate(memcache_batch_${name}_requests_total[${R}]))`,
          name,
        ]),
      ],
      [
        'Failures',
        'ops',
        ['alloc', 'get', 'remove', 'update_state'].map((name) => [
          `sum(rate(memcache_${name}_failures_total[${R}])) + sum(rate(memcache_batch_${name}_failures_total[${R}]))`,
          name,
        ]),
      ],
      [
        'Not found',
        'ops',
        [
          [`sum(rate(memcache_get_not_found_total[${R}]))`, 'get'],
          [`sum(rate(memcache_query_not_found_total[${R}]))`, 'query'],
        ],
      ],
      [
        'Capacity used by medium',
        'percentunit',
        [['memcache_allocated_bytes / clamp_min(memcache_total_capacity_bytes, 1)', '{{medium}}']],
      ],
      [
        'Allocated / capacity bytes',
        'bytes',
        [
          ['memcache_allocated_bytes', 'allocated {{medium}}'],
          ['memcache_total_capacity_bytes', 'capacity {{medium}}'],
        ],
      ],
      [
        'Segments',
        'bytes',
        [
          ['memcache_segment_allocated_bytes', 'used {{segment}}'],
          ['memcache_segment_capacity_bytes', 'capacity {{segment}}'],
        ],
      ],
      ['Evictions', 'ops', [[`rate(memcache_evict_operations_total[${R}])`, 'evicted objects/s']]],
      ['Stored keys', 'short', [['memcache_stored_keys', 'keys']]],
      ['Meta service up', 'short', [['up{job=~"memcache.*"}', '{{instance}}']]],
      [
        'HA role and view version',
        'short',
        [
          ['memcache_ha_leader', 'leader {{instance}}'],
          ['memcache_ha_view_version', 'view {{instance}}'],
          ['memcache_ha_restoring_ranks', 'ranks rebuilding {{instance}}'],
        ],
      ],
    ],
  ),
};

for (const [product, json] of Object.entries(dashboards)) {
  writeFileSync(new URL(`${product}.json`, import.meta.url), `${JSON.stringify(json, null, 2)}\n`);
}
