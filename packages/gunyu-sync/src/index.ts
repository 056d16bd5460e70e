export { listenAddress, parseAddress, redisAddress } from './config/address';
export { GUNYU_APP_CONFIG } from './config/app-config-spec';
export {
  type GunyuConfig,
  type GunyuConfigInput,
  gunyuConfigSchema,
  maskConfig,
} from './config/config-schema';
export { formatDuration, parseDuration } from './config/duration';
export {
  CHECKPOINT_INDEX_KEY,
  type Checkpoint,
  checkpointFields,
  checkpointFromHash,
  DEFAULT_CHECKPOINT_NAME,
} from './core/checkpoint';
export { CommandFilter, DEFAULT_FILTER_OPTIONS, type FilterOptions } from './core/command-filter';
export { GUNYU_ERROR_CODES, GunyuError, type GunyuErrorCode } from './core/errors';
export { ByteCursor } from './core/rdb/byte-cursor';
export { Crc64, crc64 } from './core/rdb/crc64';
export { buildDumpPayload, DUMP_PAYLOAD_RDB_VERSION } from './core/rdb/dump-payload';
export { decodeIntset, decodeListpack, decodeZiplist, decodeZipmap } from './core/rdb/encodings';
export { lzfDecompress } from './core/rdb/lzf';
export {
  RDB_MAX_VERSION,
  RDB_OPCODE,
  RDB_TYPE,
  type RdbValueKind,
  valueKindOf,
} from './core/rdb/rdb-constants';
export {
  DEFAULT_RDB_PARSER_OPTIONS,
  parseRdb,
  type RdbEntry,
  type RdbEvent,
  RdbParser,
  type RdbParserOptions,
} from './core/rdb/rdb-parser';
export { type DecodedValue, decodeValue, type StreamEntry, valueToCommands } from './core/rdb/value-decoder';
export { DEFAULT_REPLAY_OPTIONS, type KeyExistsPolicy, type ReplayOptions } from './core/replay-options';
export {
  createGunyuService,
  type GunyuService,
  type GunyuServiceOptions,
} from './gunyu-service';
export { GUNYU_ERROR_ENVELOPE } from './http/gunyu-error-envelope';
export { type GunyuPluginOptions, gunyuPlugin } from './http/gunyu-plugin';
export { registerGunyuMetrics } from './metrics/gunyu-metrics';
export { SyncCounters } from './replay/sync-counters';
export { type RedisEndpoint, TargetConnection } from './replay/target-connection';
export {
  DEFAULT_REPLICA_CLIENT_OPTIONS,
  ReplicaClient,
  type ReplicaClientOptions,
  type ReplicaListener,
} from './replication/replica-client';
export {
  replayOptionsFromConfig,
  type SyncerStatus,
  SyncService,
  type SyncServiceOptions,
} from './sync-service';
export { Syncer, type SyncerOptions, type SyncerState } from './syncer';
