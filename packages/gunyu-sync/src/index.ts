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
