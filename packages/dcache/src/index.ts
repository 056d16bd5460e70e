export { DCACHE_ERROR_CODES, DcacheError, type DcacheErrorCode } from './core/errors';
export { DEFAULT_PARTITION_COUNT, hashKey, partitionOf } from './core/hash';
export {
  type AssignOptions,
  assignTable,
  emptyTable,
  isNewerTable,
  loadByNode,
  type Member,
  memberAddress,
  type PartitionTable,
} from './core/partition-table';
export {
  DEFAULT_STORE_OPTIONS,
  ENTRY_OVERHEAD_BYTES,
  type StoreEntry,
  type StoreOptions,
  type StoreStats,
  VersionedStore,
} from './core/store';
