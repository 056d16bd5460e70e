import type { MigrationStatus } from '../config-server/bucket-migrator';
import type { ConfigServer } from '../config-server/config-server';

const GAUGES: [name: string, help: string, value: (status: MigrationStatus) => number][] = [
  [
    'kvstore_cs_migration_running',
    'Whether a migration job of the namespace runs (1) or not (0).',
    (s) => (s.state === 'running' ? 1 : 0),
  ],
  ['kvstore_cs_migration_moved_keys', 'Keys moved by the last or current job.', (s) => s.moved_keys],
  [
    'kvstore_cs_migration_keys_per_second',
    'Average keys/s of the last or current job run.',
    (s) => s.keys_per_second,
  ],
  ['kvstore_cs_migration_buckets_done', 'Buckets handed over by the job.', (s) => s.buckets_done],
  ['kvstore_cs_migration_buckets_total', 'Buckets the job moves.', (s) => s.buckets_total],
  [
    'kvstore_cs_migration_max_keys_per_second',
    'The job keys/s limit (0: unlimited).',
    (s) => s.max_migrate_keys_per_second,
  ],
];

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * The HA role and each namespace's table version: what the "master missing" and "versions diverge"
 * alerts read. A slave reports the tables it last copied from the master.
 */
function renderRoleMetrics(server: ConfigServer, lines: string[]): void {
  lines.push(
    '# HELP kvstore_cs_master Whether this ConfigServer is the master (1) or a slave (0).',
    '# TYPE kvstore_cs_master gauge',
    `kvstore_cs_master ${server.isMaster ? 1 : 0}`,
    "# HELP kvstore_cs_table_version Version of the namespace's bucket table on this ConfigServer.",
    '# TYPE kvstore_cs_table_version gauge',
  );
  for (const namespace of server.namespaceList())
    lines.push(
      `kvstore_cs_table_version{namespace="${label(namespace)}"} ${server.getTable(namespace).version}`,
    );
}

/** Prometheus text of the ConfigServer: its role, table versions and migration jobs (one series per namespace). */
export function renderConfigServerMetrics(server: ConfigServer, statuses: MigrationStatus[]): string {
  const lines: string[] = [];
  renderRoleMetrics(server, lines);
  for (const [name, help, value] of GAUGES) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const status of statuses)
      lines.push(`${name}{namespace="${label(status.namespace)}"} ${value(status)}`);
  }
  return `${lines.join('\n')}\n`;
}
