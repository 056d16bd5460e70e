export {
  type ClientReadResult,
  type ClientRoutingStats,
  DcacheClient,
  type DcacheClientOptions,
  DEFAULT_DCACHE_CLIENT_OPTIONS,
} from './client/dcache-client';
export { parseByteSize } from './core/byte-size';
export { DCACHE_ERROR_CODES, DcacheError, type DcacheErrorCode } from './core/errors';
export { DEFAULT_PARTITION_COUNT, hashKey, partitionOf } from './core/hash';
export {
  HOPS_HEADER,
  INTERNAL_PATHS,
  LOCAL_ONLY_HEADER,
  RING_VERSION_HEADER,
  TOKEN_HEADER,
} from './core/internal-api';
export {
  type AssignOptions,
  assignTable,
  emptyTable,
  isNewerIdentity,
  isNewerTable,
  loadByNode,
  type Member,
  memberAddress,
  type PartitionTable,
  type TableIdentity,
  type TableLayout,
  tableFingerprint,
  tableIdentity,
} from './core/partition-table';
export { awaitQuorum } from './core/quorum';
export {
  DEFAULT_STORE_OPTIONS,
  ENTRY_OVERHEAD_BYTES,
  type StoreEntry,
  type StoreOptions,
  type StoreStats,
  VersionedStore,
} from './core/store';
export { type PlanOptions, planTable } from './core/table-planner';
export { checkedTable, partitionTableSchema, tableProblem } from './core/table-validation';
export { createDcacheServer, type DcacheServerOptions } from './http/create-dcache-server';
export { type DcachePluginOptions, dcachePlugin } from './http/dcache-plugin';
export { DCACHE_ERROR_ENVELOPE } from './http/error-envelope';
export { outranks } from './node/cluster-rank';
export { type DcacheMetrics, registerDcacheMetrics } from './node/dcache-metrics';
export { DcacheNode } from './node/dcache-node';
export {
  DEFAULT_ETCD_MEMBERSHIP_OPTIONS,
  EtcdMembership,
  type EtcdMembershipOptions,
} from './node/etcd-membership';
export { FailureDetector } from './node/failure-detector';
export { type Membership, SeedMembership } from './node/membership';
export {
  type DcacheNodeOptions,
  DEFAULT_DCACHE_NODE_OPTIONS,
  type MemberHealth,
  type MigrationStats,
  type NodeCounters,
  type NodeStatus,
  type ReadResult,
} from './node/node-options';
export {
  DEFAULT_PEER_CLIENT_OPTIONS,
  PeerClient,
  type PeerClientOptions,
  type PeerResponse,
} from './node/peer-client';
export {
  DcacheService,
  type DcacheServiceConfig,
  type DcacheServiceDependencies,
  startDcacheService,
} from './service/dcache-service';
