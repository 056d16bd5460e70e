import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { BucketMigrator } from '../config-server/bucket-migrator';
import type { ConfigServer } from '../config-server/config-server';
import { isValidAddress } from '../core/address';
import { bucketTableToJson, CLUSTER_TYPES, type ClusterType } from '../core/bucket-table';
import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';
import { type CodeOverrides, RESULT_CODES, resultFor } from './envelope';
import { type Input, optionalInteger, readInput, requireInteger, requireString } from './input';

export interface ConfigServerPluginOptions {
  configServer: ConfigServer;
  /** Enables the online-migration routes (data_store). */
  migrator?: BucketMigrator;
  /** Longest a `watch_table` long-poll is held. @default 30000 */
  maxWatchMs?: number;
}

export const DEFAULT_CONFIG_SERVER_PLUGIN_OPTIONS = { maxWatchMs: 30_000 };

const OK = { code: RESULT_CODES.OK, msg: 'OK' } as const;

type Handler = (input: Input, request: FastifyRequest) => Promise<object> | object;

/** The ConfigServer's HTTP API (`/kvstore/cs/*`): every route answers GET and POST, HTTP 200 `{code, msg, …}`. */
export const configServerPlugin = fp<ConfigServerPluginOptions>(
  async (app: FastifyInstance, options) => {
    const server = options.configServer;
    const maxWatchMs = options.maxWatchMs ?? DEFAULT_CONFIG_SERVER_PLUGIN_OPTIONS.maxWatchMs;

    const route = (path: string, handler: Handler, overrides: CodeOverrides = {}): void => {
      app.route({
        method: ['GET', 'POST'],
        url: `/kvstore/cs/${path}`,
        handler: async (request: FastifyRequest, reply: FastifyReply) => {
          try {
            const result = await handler(readInput(request), request);
            return reply.send({ ...OK, ...result });
          } catch (error) {
            const body = resultFor(error, overrides);
            if (!body) throw error;
            return reply.send(body);
          }
        },
      });
    };

    route('init_table', async (input) => {
      const namespace = requireString(input, 'namespace');
      const bucketCount = requireInteger(input, 'bucket_count');
      const list = input.address_list;
      if (!Array.isArray(list)) {
        throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_INPUT, 'address_list must be an array');
      }
      for (const address of list) {
        if (!isValidAddress(address)) {
          throw new KvstoreError(
            KVSTORE_ERROR_CODES.INVALID_ADDRESS,
            `invalid redis address: ${String(address)}`,
          );
        }
      }
      let clusterType: ClusterType = 'data_store';
      if (input.cluster_type !== undefined) {
        if (!CLUSTER_TYPES.includes(input.cluster_type as ClusterType)) {
          throw new KvstoreError(
            KVSTORE_ERROR_CODES.INVALID_INPUT,
            'cluster_type must be "cache" or "data_store"',
          );
        }
        clusterType = input.cluster_type as ClusterType;
      }
      await server.initTable(namespace, bucketCount, list as string[], clusterType);
      return {};
    });

    route(
      'del_namespace',
      async (input) => {
        await server.deleteNamespace(requireString(input, 'namespace'));
        return {};
      },
      { [KVSTORE_ERROR_CODES.NO_SUCH_NAMESPACE]: RESULT_CODES.CLUSTER_TYPE_OR_ADDRESS },
    );

    route('namespace_list', () => ({ namespace_list: server.namespaceList() }));

    route('bucket_table', (input) => {
      const table = server.getTable(requireString(input, 'namespace'));
      return { ...bucketTableToJson(table), cluster_type: table.clusterType };
    });

    route('proxy_info', (input) => ({ proxy_info: server.proxyInfo(requireString(input, 'namespace')) }));

    route(
      'replace_server',
      async (input) => {
        await server.replaceServer(
          requireString(input, 'namespace'),
          requireString(input, 'old_addr'),
          requireString(input, 'new_addr'),
        );
        return {};
      },
      {
        [KVSTORE_ERROR_CODES.INVALID_ADDRESS]: RESULT_CODES.FAILED,
        [KVSTORE_ERROR_CODES.NO_SUCH_NAMESPACE]: RESULT_CODES.INVALID_ACTION,
      },
    );

    route(
      'scale_cache_cluster',
      async (input) => {
        await server.scaleCacheCluster(
          requireString(input, 'namespace'),
          requireString(input, 'action'),
          requireString(input, 'addr'),
        );
        return {};
      },
      {
        [KVSTORE_ERROR_CODES.INVALID_ADDRESS]: RESULT_CODES.FAILED,
        [KVSTORE_ERROR_CODES.NO_SUCH_NAMESPACE]: RESULT_CODES.SCALE_FAILED,
      },
    );

    route('set_config', async (input) => {
      const names = Object.keys(input);
      if (names.length === 0)
        throw new KvstoreError(KVSTORE_ERROR_CODES.NO_SUCH_CONFIG, 'no parameter given');
      for (const name of names) {
        if (name !== 'support_ha' || typeof input[name] !== 'boolean') {
          throw new KvstoreError(KVSTORE_ERROR_CODES.NO_SUCH_CONFIG, `${name} (only support_ha: bool)`);
        }
      }
      await server.setSupportHa(input.support_ha as boolean);
      return {};
    });

    route('get_config', (input) => {
      const namespace = input.namespace === undefined ? undefined : requireString(input, 'namespace');
      const data = {
        support_ha: server.supportHa,
        is_master: server.isMaster,
        cluster_type: server.clusterTypeOf(namespace),
      };
      // The original nests these under `data`; they are repeated at the top level for convenience.
      return { ...data, data };
    });

    // Proxies long-poll here: registration, heartbeat and table push in one request.
    route('watch_table', async (input) => {
      const namespace = requireString(input, 'namespace');
      const version = optionalInteger(input, 'version', 0);
      const waitMs = Math.min(Math.max(optionalInteger(input, 'wait_ms', 0), 0), maxWatchMs);
      if (input.proxy !== undefined) server.touchProxy(namespace, requireString(input, 'proxy'), version);
      const table = await server.waitForTable(namespace, version, waitMs);
      if (input.proxy !== undefined && !table) server.touchProxy(namespace, input.proxy as string, version);
      if (!table) return { changed: false, version };
      return { changed: true, cluster_type: table.clusterType, ...bucketTableToJson(table) };
    });

    // Proxies report backends they cannot reach (and reachable again); see ConfigServer.reportRedisState.
    route('report_redis_state', async (input) => {
      const state = requireString(input, 'state');
      if (state !== 'down' && state !== 'up') {
        throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_ACTION, 'state must be "down" or "up"');
      }
      const action = await server.reportRedisState(
        requireString(input, 'namespace'),
        requireString(input, 'proxy'),
        requireString(input, 'addr'),
        state,
        input.slave_addr === undefined ? '' : requireString(input, 'slave_addr'),
      );
      return { action };
    });

    const migrator = options.migrator;
    if (migrator) {
      // Online migration (data_store): move given buckets, or scale out to a new master.
      route('migrate_bucket', (input) => {
        const list = input.bucket_ids ?? (input.bucket_id === undefined ? undefined : [input.bucket_id]);
        if (!Array.isArray(list) || list.length === 0 || !list.every((item) => Number.isInteger(item))) {
          throw new KvstoreError(
            KVSTORE_ERROR_CODES.INVALID_INPUT,
            'bucket_id (integer) or bucket_ids (array) required',
          );
        }
        return migrator.start(
          requireString(input, 'namespace'),
          list as number[],
          requireString(input, 'addr'),
        );
      });
      route('scale_data_store', (input) => {
        const action = requireString(input, 'action');
        if (action !== 'add')
          throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_ACTION, `not a valid action: ${action}`);
        return migrator.scaleOut(requireString(input, 'namespace'), requireString(input, 'addr'));
      });
      route('migration_status', (input) => migrator.status(requireString(input, 'namespace')));
    }

    app.addHook('preClose', async () => server.close());
  },
  { name: 'kvstore-config-server', fastify: '5.x' },
);
