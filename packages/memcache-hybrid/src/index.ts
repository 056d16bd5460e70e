export { type CliIo, type CliOutput, runMemcacheCli } from './cli/memcache-cli';
export { DataTransferError } from './client/data-lane';
export { DataPeer, type DataPeerOptions, DEFAULT_DATA_PEER_OPTIONS } from './client/data-peer';
export {
  type BatchGetItem,
  DEFAULT_MEM_CACHE_CLIENT_OPTIONS,
  type GetOptions,
  MemCacheClient,
  type MemCacheClientOptions,
  type PutOptions,
} from './client/mem-cache-client';
export { MemCacheError, type MemCacheErrorCode } from './client/mem-cache-error';
export { readKeyValueFile } from './config/key-value-file';
export {
  UNUSED_LOCAL_KEYS,
  UNUSED_META_KEYS,
  unusedKeyFields,
  unusedKeyWarnings,
} from './config/original-keys';
export {
  byteSize,
  MAX_SEGMENT_BYTES,
  parseSegmentMounts,
  parseSize,
  type SegmentMount,
  segmentMountList,
} from './config/segment-mounts';
export {
  dataListenAddress,
  httpOrigin,
  metaServiceUrl,
  metaServiceUrlList,
  metricsUrl,
  parseMetaServiceUrl,
  parseMetricsUrl,
} from './config/service-addresses';
export {
  type BlobRecord,
  DEFAULT_RESTORE_OPTIONS,
  type RestoreOptions,
  type RestoreOutcome,
  restoreRank,
} from './core/blob-restore';
export * from './core/codes';
export { type LocalSegmentInfo, type LocalServiceInfo, LocalServiceRegistry } from './core/local-services';
export {
  DEFAULT_META_MANAGER_OPTIONS,
  isValidKey,
  MetaManager,
  type MetaManagerOptions,
} from './core/meta-manager';
export type { AllocRequest, Blob, MediumUsage, MemObject, Segment } from './core/meta-objects';
export {
  type BlobLocation,
  type KeyInfo,
  MetaService,
  type MetaServiceOptions,
  type StateUpdate,
} from './core/meta-service';
export {
  OPERATIONS,
  type OperationCount,
  OperationCounters,
  type OperationId,
} from './core/operation-counters';
export { Ptracer, TRACEPOINT_ID, TRACEPOINTS, type Tracepoint } from './core/ptracer';
export { renderPrometheus, renderSummary } from './core/render-metrics';
export { alignUp, SegmentAllocator } from './core/segment-allocator';
export {
  DEFAULT_LEADER_KEY,
  type ElectionState,
  type LeaderRecord,
  LeaseElection,
  type LeaseElectionOptions,
} from './ha/lease-election';
export { MEMCACHE_ERROR_ENVELOPE, MmcHttpError } from './http/error-envelope';
export {
  type HaSnapshot,
  type MemcacheRestOptions,
  memcacheRestPlugin,
  standaloneHaSnapshot,
} from './http/memcache-rest-plugin';
export {
  COPY_PAYLOAD_BYTES,
  DATA_HEADER_BYTES,
  DATA_OPCODE,
  DATA_STATUS,
  readDataHeader,
  writeDataHeader,
} from './local/data-protocol';
export { DataServer, type DataServerOptions, DEFAULT_DATA_SERVER_OPTIONS } from './local/data-server';
export {
  DEFAULT_LOCAL_SERVICE_OPTIONS,
  type LocalService,
  type LocalServiceOptions,
  startLocalService,
} from './local/local-service';
export { HostMemoryBackend, type SegmentBackend, SharedMemoryFileBackend } from './local/segment-backend';
export { FileMetadataStore, type MetadataStore } from './metadata/file-metadata-store';
export { connectToLeader, LeaderMetaClient, splitMetaUrls } from './rpc/leader-meta-client';
export { MetaRpcClient } from './rpc/meta-rpc-client';
export { MetaRpcServer, type MetaRpcServerOptions } from './rpc/meta-rpc-server';
export {
  DEFAULT_RPC_LIMITS,
  encodeFrame,
  type FrameHandler,
  FrameReader,
  RPC_HEADER_BYTES,
  RPC_OPCODE,
  RpcFrameError,
  type RpcLimits,
  type RpcOpcode,
} from './rpc/rpc-protocol';
export { electionSnapshot, type MetaHaOptions, rpcUrlOf } from './server/meta-ha';
export {
  DEFAULT_META_SERVICE_SERVER_OPTIONS,
  type MetaServiceServer,
  type MetaServiceServerOptions,
  startMetaServiceServer,
} from './server/meta-service-server';
