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
export { isKvstoreError, KVSTORE_ERROR_CODES, KvstoreError, type KvstoreErrorCode } from './core/errors';
export { bucketOf, KVSTORE_HASH_SEED, murmurHash2 } from './core/murmur-hash2';
