export {
  BucketMigrator,
  type BucketMigratorOptions,
  DEFAULT_BUCKET_MIGRATOR_OPTIONS,
  type MigrationStatus,
} from './config-server/bucket-migrator';
export {
  ConfigServer,
  type ConfigServerOptions,
  DEFAULT_CONFIG_SERVER_OPTIONS,
  type ProxyInfo,
  type ProxyState,
} from './config-server/config-server';
export {
  ConfigServerService,
  type ConfigServerServiceOptions,
  type StateStoreChoice,
} from './config-server/config-server-service';
export {
  DEFAULT_ETCD_STATE_STORE_OPTIONS,
  EtcdStateStore,
  type EtcdStateStoreOptions,
} from './config-server/etcd-state-store';
export {
  isStaleSnapshot,
  ReplicationFollower,
  type ReplicationFollowerOptions,
  type ReplicationSnapshot,
  ReplicationSource,
} from './config-server/file-replication';
export {
  type ConfigServerState,
  type ConfigStateStore,
  FileStateStore,
  MemoryStateStore,
} from './config-server/state-store';
export { type HostPort, isValidAddress, parseAddress } from './core/address';
export {
  type BucketTable,
  type BucketTableJson,
  bucketsByServer,
  bucketTableFromJson,
  bucketTableToJson,
  CLUSTER_TYPES,
  type ClusterType,
  completeMigration,
  createBucketTable,
  MAX_BUCKET_COUNT,
  MIN_BUCKET_COUNT,
  NO_MIGRATING_BUCKET,
  replaceServer,
  scaleDownTable,
  scaleUpTable,
  serversOf,
  startMigration,
} from './core/bucket-table';
export { COMMAND_KINDS, type CommandSpec, CommandTable, MERGE_KINDS } from './core/command-table';
export { isKvstoreError, KVSTORE_ERROR_CODES, KvstoreError, type KvstoreErrorCode } from './core/errors';
export { globMatch } from './core/glob-match';
export { KeyRewriter } from './core/key-rewrite';
export { bucketOf, KVSTORE_HASH_SEED, murmurHash2 } from './core/murmur-hash2';
export { CONFIG_SERVER_API_DOCS, PROXY_API_DOCS } from './http/api-docs';
export {
  type ConfigServerPluginOptions,
  configServerPlugin,
  DEFAULT_CONFIG_SERVER_PLUGIN_OPTIONS,
} from './http/config-server-plugin';
export { KVSTORE_ERROR_ENVELOPE, RESULT_CODES } from './http/envelope';
export { type ProxyClusterHooks, type ProxyPluginOptions, proxyPlugin } from './http/proxy-plugin';
export { type ProxyWorkerOptions, runProxyWorker } from './proxy/cluster/proxy-worker';
export {
  ProxyWorkerPool,
  type ProxyWorkerPoolOptions,
  type WorkerStats,
} from './proxy/cluster/proxy-worker-pool';
export {
  ConfigServerClient,
  type ConfigServerClientOptions,
  DEFAULT_CONFIG_SERVER_CLIENT_OPTIONS,
} from './proxy/config-server-client';
export {
  DEFAULT_KV_STORE_PROXY_OPTIONS,
  KvStoreProxy,
  type KvStoreProxyOptions,
} from './proxy/kv-store-proxy';
export {
  DEFAULT_KV_STORE_PROXY_SERVICE_OPTIONS,
  KvStoreProxyService,
  type KvStoreProxyServiceOptions,
} from './proxy/kv-store-proxy-service';
export {
  DEFAULT_PROXY_RUNTIME_CONFIG,
  PROXY_CONFIG_UPDATE_SCHEMA,
  type ProxyRuntimeConfig,
} from './proxy/proxy-config';
export { ProxyStats } from './proxy/proxy-stats';
export {
  promoteReplica,
  RedisMonitor,
  type RedisMonitorOptions,
  replicaFromInfo,
} from './proxy/redis-monitor';
