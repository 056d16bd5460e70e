import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { bucketTableToJson } from '../core/bucket-table';
import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';
import type { KvStoreProxy } from '../proxy/kv-store-proxy';
import { PROXY_CONFIG_UPDATE_SCHEMA, type ProxyRuntimeConfig } from '../proxy/proxy-config';
import { EMPTY_INPUT } from './config-server-schemas';
import { kvstoreRoutes } from './kvstore-route';

/** A `--threads N` proxy: its workers serve, so stats are theirs and patterns go to each of them. */
export interface ProxyClusterHooks {
  /** Sums every worker's counters into `proxy.stats`; returns the clients and one row per worker. */
  collectStats(): Promise<{ clientCount: number; workers: Record<string, unknown>[] }>;
  resetStats(): void;
  onPatternChange(action: 'add' | 'delete', pattern: string): void;
}

export interface ProxyPluginOptions {
  proxy: KvStoreProxy;
  cluster?: ProxyClusterHooks;
  /** Called after set_config applied a change (the app re-points its ConfigServer client). */
  onConfigChange?: (update: Partial<ProxyRuntimeConfig>) => void;
  /** Extra process metrics appended to `/metrics`. */
  registry?: Registry;
  /** Whether the proxy is connected to its ConfigServer, for `/health`. */
  configServerConnected?: () => boolean;
}

// The spec spells the field "patten"; the original code reads "pattern". Both are accepted.
const PATTERN_INPUT = z
  .object({ pattern: z.string().min(1).optional(), patten: z.string().min(1).optional() })
  .refine((input) => input.pattern !== undefined || input.patten !== undefined, {
    message: 'pattern (or patten) must be a non-empty string',
    path: ['patten'],
  });

/** The KvStoreProxy's HTTP API (`/kvstore/proxy/*`), Prometheus `/metrics` and `/health`. */
export const proxyPlugin = fp<ProxyPluginOptions>(
  async (app: FastifyInstance, options) => {
    const proxy = options.proxy;
    const route = kvstoreRoutes(app, '/kvstore/proxy/');

    const cluster = options.cluster;
    // With workers, the counters are summed into proxy.stats on each read.
    const collect = async () =>
      cluster ? await cluster.collectStats() : { clientCount: proxy.clientCount, workers: undefined };

    route('stats_info', EMPTY_INPUT, async () => {
      const { clientCount, workers } = await collect();
      return {
        average_rt: Math.round(proxy.stats.averageRtMs * 1000) / 1000,
        qps: proxy.stats.qps,
        client_count: clientCount,
        slow_cmd_count: proxy.stats.slowCommands,
        total_cmd_count: proxy.stats.totalCommands,
        cmds: proxy.stats.commandCounts(),
        ...(workers ? { workers } : {}),
      };
    });

    route('reset_stats', EMPTY_INPUT, () => {
      proxy.stats.reset();
      cluster?.resetStats();
      return {};
    });

    route('set_config', PROXY_CONFIG_UPDATE_SCHEMA, (update) => {
      proxy.updateConfig(update);
      options.onConfigChange?.(update);
      return {};
    });

    route('bucket_table', EMPTY_INPUT, () => {
      const table = proxy.currentTable;
      if (!table) throw new KvstoreError(KVSTORE_ERROR_CODES.NO_SUCH_NAMESPACE, 'no bucket table yet');
      return bucketTableToJson(table);
    });

    route('add_pattern', PATTERN_INPUT, (input) => {
      const pattern = (input.pattern ?? input.patten)!;
      proxy.keyRewriter.add(pattern);
      cluster?.onPatternChange('add', pattern);
      return {};
    });

    route('del_pattern', PATTERN_INPUT, (input) => {
      const pattern = (input.pattern ?? input.patten)!;
      if (!proxy.keyRewriter.delete(pattern)) {
        throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_INPUT, 'no such pattern');
      }
      cluster?.onPatternChange('delete', pattern);
      return {};
    });

    app.get('/metrics', async (_request, reply) => {
      const { clientCount } = await collect();
      const gauges = [
        '# HELP kvstore_proxy_clients Connected clients.',
        '# TYPE kvstore_proxy_clients gauge',
        `kvstore_proxy_clients ${clientCount}`,
        '# HELP kvstore_proxy_bucket_table_version Version of the installed bucket table.',
        '# TYPE kvstore_proxy_bucket_table_version gauge',
        `kvstore_proxy_bucket_table_version ${proxy.tableVersion}`,
        '',
      ].join('\n');
      const extra = options.registry ? await options.registry.metrics() : '';
      return reply
        .header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
        .send(proxy.stats.renderPrometheus() + gauges + extra);
    });

    app.get('/health', async (_request, reply) => {
      const ready = proxy.currentTable !== undefined;
      return reply.status(ready ? 200 : 503).send({
        status: ready ? 'ok' : 'no table',
        table_version: proxy.tableVersion,
        config_server_connected: options.configServerConnected?.() ?? null,
      });
    });
  },
  { name: 'kvstore-proxy', fastify: '5.x' },
);
