import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { BucketMigrator } from '../config-server/bucket-migrator';
import type { ConfigServer } from '../config-server/config-server';
import { type ReplicationSource, snapshotToJson } from '../config-server/file-replication';
import { bucketTableToJson } from '../core/bucket-table';
import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';
import { renderConfigServerMetrics } from './config-server-metrics';
import {
  EMPTY_INPUT,
  GET_CONFIG_INPUT,
  INIT_TABLE_INPUT,
  MIGRATE_BUCKET_INPUT,
  NAMESPACE_INPUT,
  REPLACE_SERVER_INPUT,
  REPLICATION_SNAPSHOT_INPUT,
  REPORT_REDIS_STATE_INPUT,
  SCALE_INPUT,
  SET_CONFIG_INPUT,
  WATCH_TABLE_INPUT,
} from './config-server-schemas';
import { RESULT_CODES } from './envelope';
import { kvstoreRoutes } from './kvstore-route';

export interface ConfigServerPluginOptions {
  configServer: ConfigServer;
  /** Enables the online-migration routes (data_store). */
  migrator?: BucketMigrator;
  /** Longest a `watch_table` long-poll is held. @default 30000 */
  maxWatchMs?: number;
  /** File-store pair: serves the replication stream and promotes on `set_config {"is_master":true}`. */
  replication?: { source: ReplicationSource; promote: () => Promise<void> };
}

export const DEFAULT_CONFIG_SERVER_PLUGIN_OPTIONS = { maxWatchMs: 30_000 };

/** The ConfigServer's HTTP API (`/kvstore/cs/*`): every route answers GET and POST with `{code, msg, …}`. */
export const configServerPlugin = fp<ConfigServerPluginOptions>(
  async (app: FastifyInstance, options) => {
    const server = options.configServer;
    const maxWatchMs = options.maxWatchMs ?? DEFAULT_CONFIG_SERVER_PLUGIN_OPTIONS.maxWatchMs;
    const route = kvstoreRoutes(app, '/kvstore/cs/');

    route('init_table', INIT_TABLE_INPUT, async (input) => {
      await server.initTable(
        input.namespace,
        input.bucket_count,
        input.address_list as string[],
        input.cluster_type ?? 'data_store',
      );
      return {};
    });

    route(
      'del_namespace',
      NAMESPACE_INPUT,
      async (input) => {
        await server.deleteNamespace(input.namespace);
        return {};
      },
      { [KVSTORE_ERROR_CODES.NO_SUCH_NAMESPACE]: RESULT_CODES.CLUSTER_TYPE_OR_ADDRESS },
    );

    route('namespace_list', EMPTY_INPUT, () => ({ namespace_list: server.namespaceList() }));

    route('bucket_table', NAMESPACE_INPUT, (input) => {
      const table = server.getTable(input.namespace);
      return { ...bucketTableToJson(table), cluster_type: table.clusterType };
    });

    route('proxy_info', NAMESPACE_INPUT, (input) => ({ proxy_info: server.proxyInfo(input.namespace) }));

    route(
      'replace_server',
      REPLACE_SERVER_INPUT,
      async (input) => {
        await server.replaceServer(input.namespace, input.old_addr, input.new_addr);
        return {};
      },
      {
        [KVSTORE_ERROR_CODES.INVALID_ADDRESS]: RESULT_CODES.FAILED,
        [KVSTORE_ERROR_CODES.NO_SUCH_NAMESPACE]: RESULT_CODES.INVALID_ACTION,
      },
    );

    route(
      'scale_cache_cluster',
      SCALE_INPUT,
      async (input) => {
        await server.scaleCacheCluster(input.namespace, input.action, input.addr);
        return {};
      },
      {
        [KVSTORE_ERROR_CODES.INVALID_ADDRESS]: RESULT_CODES.FAILED,
        [KVSTORE_ERROR_CODES.NO_SUCH_NAMESPACE]: RESULT_CODES.SCALE_FAILED,
      },
    );

    route('set_config', SET_CONFIG_INPUT, async (input) => {
      if (input.is_master) {
        if (!options.replication) {
          throw new KvstoreError(
            KVSTORE_ERROR_CODES.INVALID_INPUT,
            'is_master can only be set on a file store',
          );
        }
        await options.replication.promote();
      }
      if (input.support_ha !== undefined) await server.setSupportHa(input.support_ha);
      return {};
    });

    // File-store slaves long-poll here for the newest versioned snapshot of the state.
    const replication = options.replication;
    if (replication) {
      route('replication_snapshot', REPLICATION_SNAPSHOT_INPUT, async (input) => {
        const waitMs = Math.min(Math.max(input.wait_ms, 0), maxWatchMs);
        const snapshot = await replication.source.waitForSnapshot(input.run_id, input.serial, waitMs);
        return snapshot ? { changed: true, ...snapshotToJson(snapshot) } : { changed: false };
      });
    }

    route('get_config', GET_CONFIG_INPUT, (input) => {
      const data = {
        support_ha: server.supportHa,
        is_master: server.isMaster,
        cluster_type: server.clusterTypeOf(input.namespace),
      };
      // The original nests these under `data`; they are repeated at the top level for convenience.
      return { ...data, data, master: server.masterAddress };
    });

    // Proxies long-poll here: registration, heartbeat and table push in one request.
    route('watch_table', WATCH_TABLE_INPUT, async (input) => {
      const { namespace, version, proxy } = input;
      const waitMs = Math.min(Math.max(input.wait_ms, 0), maxWatchMs);
      if (proxy !== undefined) server.touchProxy(namespace, proxy, version);
      const table = await server.waitForTable(namespace, version, waitMs, input.epoch);
      if (proxy !== undefined && !table) server.touchProxy(namespace, proxy, version);
      // Every answer says who is master, so proxies that list several ConfigServers follow it.
      const role = { is_master: server.isMaster, master: server.masterAddress };
      if (!table) return { changed: false, version, ...role };
      return { changed: true, cluster_type: table.clusterType, ...bucketTableToJson(table), ...role };
    });

    // Proxies report backends they cannot reach (and reachable again); see ConfigServer.reportRedisState.
    route('report_redis_state', REPORT_REDIS_STATE_INPUT, async (input) => {
      if (input.state !== 'down' && input.state !== 'up') {
        throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_ACTION, 'state must be "down" or "up"');
      }
      const action = await server.reportRedisState(
        input.namespace,
        input.proxy,
        input.addr,
        input.state,
        input.slave_addr,
      );
      return { action };
    });

    const migrator = options.migrator;
    if (migrator) {
      // Online migration (data_store): move given buckets, or scale out to a new master.
      route('migrate_bucket', MIGRATE_BUCKET_INPUT, (input) =>
        migrator.start(input.namespace, input.bucket_ids ?? [input.bucket_id!], input.addr, {
          maxKeysPerSecond: input.max_migrate_keys_per_second,
        }),
      );
      route('scale_data_store', SCALE_INPUT, (input) => {
        if (input.action !== 'add')
          throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_ACTION, `not a valid action: ${input.action}`);
        return migrator.scaleOut(input.namespace, input.addr);
      });
      route('migration_status', NAMESPACE_INPUT, (input) => migrator.status(input.namespace));
      app.get('/metrics', async (_request, reply) =>
        reply
          .header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
          .send(renderConfigServerMetrics(server, migrator.statusList())),
      );
    }

    app.addHook('preClose', async () => server.close());
  },
  { name: 'kvstore-config-server', fastify: '5.x' },
);
