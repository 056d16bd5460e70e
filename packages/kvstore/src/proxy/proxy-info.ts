import { REDIS_COMMAND_VERSION } from '../core/command-table.generated';
import type { BackendConnection } from './backend-connection';
import type { ProxyStats } from './proxy-stats';

/** What the proxy's INFO reply shows. */
export interface ProxyInfoFields {
  namespace: string;
  port: number;
  clients: number;
  maxClients: number;
  stats: ProxyStats;
  tableVersion: number;
  bucketCount: number;
  backends: Iterable<BackendConnection>;
}

/** The INFO text: every section for default/all/everything, else only the named section. */
export function renderInfo(section: string, info: ProxyInfoFields): string {
  const lines = [
    '# Server',
    `redis_version:${REDIS_COMMAND_VERSION}`,
    'redis_mode:standalone',
    'kvstore_proxy:1',
    `namespace:${info.namespace}`,
    `tcp_port:${info.port}`,
    `uptime_in_seconds:${Math.floor(process.uptime())}`,
    '',
    '# Clients',
    `connected_clients:${info.clients}`,
    `maxclients:${info.maxClients}`,
    '',
    '# Stats',
    `total_commands_processed:${info.stats.totalCommands}`,
    `instantaneous_ops_per_sec:${info.stats.qps}`,
    `slow_commands:${info.stats.slowCommands}`,
    '',
    '# Proxy',
    `bucket_table_version:${info.tableVersion}`,
    `bucket_count:${info.bucketCount}`,
    `backends:${[...info.backends].map((backend) => `${backend.address}=${backend.state}`).join(',')}`,
    '',
  ];
  if (section !== 'default' && section !== 'all' && section !== 'everything') {
    const wanted = section.toLowerCase();
    const filtered: string[] = [];
    let keep = false;
    for (const line of lines) {
      if (line.startsWith('# ')) keep = line.slice(2).toLowerCase() === wanted;
      if (keep) filtered.push(line);
    }
    return filtered.join('\r\n');
  }
  return lines.join('\r\n');
}
