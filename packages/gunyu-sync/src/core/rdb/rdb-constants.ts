/** Opcodes and value types of the RDB format (src/rdb.h, up to RDB version 12). */
export const RDB_OPCODE = {
  slotInfo: 0xf4,
  function2: 0xf5,
  functionPreGa: 0xf6,
  moduleAux: 0xf7,
  idle: 0xf8,
  freq: 0xf9,
  aux: 0xfa,
  resizeDb: 0xfb,
  expireTimeMs: 0xfc,
  expireTime: 0xfd,
  selectDb: 0xfe,
  eof: 0xff,
} as const;

export const RDB_TYPE = {
  string: 0,
  list: 1,
  set: 2,
  zset: 3,
  hash: 4,
  zset2: 5,
  module: 6,
  module2: 7,
  hashZipmap: 9,
  listZiplist: 10,
  setIntset: 11,
  zsetZiplist: 12,
  hashZiplist: 13,
  listQuicklist: 14,
  streamListpacks: 15,
  hashListpack: 16,
  zsetListpack: 17,
  listQuicklist2: 18,
  streamListpacks2: 19,
  setListpack: 20,
  streamListpacks3: 21,
  /*
   * Hashes with field expirations (Redis 7.4, rdb.h). The PRE_GA ones were written by 7.4 RCs (then
   * numbered 22/23); GA added the hash's min expiry (u64 LE ms) before the value (redis PR #13391).
   */
  hashMetadataPreGa: 22,
  hashListpackExPreGa: 23,
  hashMetadata: 24,
  hashListpackEx: 25,
} as const;

export const RDB_MAX_VERSION = 12;

/** Encodings after the 0b11 length prefix (rdb.h RDB_ENC_*). */
export const RDB_ENCODING = { int8: 0, int16: 1, int32: 2, lzf: 3 } as const;

/** Module value opcodes (RDB_MODULE_OPCODE_*). */
export const RDB_MODULE_OPCODE = {
  eof: 0,
  signedInt: 1,
  unsignedInt: 2,
  float: 3,
  double: 4,
  string: 5,
} as const;

export type RdbValueKind = 'string' | 'list' | 'set' | 'zset' | 'hash' | 'stream' | 'module';

export function valueKindOf(type: number): RdbValueKind {
  switch (type) {
    case RDB_TYPE.string:
      return 'string';
    case RDB_TYPE.list:
    case RDB_TYPE.listZiplist:
    case RDB_TYPE.listQuicklist:
    case RDB_TYPE.listQuicklist2:
      return 'list';
    case RDB_TYPE.set:
    case RDB_TYPE.setIntset:
    case RDB_TYPE.setListpack:
      return 'set';
    case RDB_TYPE.zset:
    case RDB_TYPE.zset2:
    case RDB_TYPE.zsetZiplist:
    case RDB_TYPE.zsetListpack:
      return 'zset';
    case RDB_TYPE.hash:
    case RDB_TYPE.hashZipmap:
    case RDB_TYPE.hashZiplist:
    case RDB_TYPE.hashListpack:
    case RDB_TYPE.hashMetadataPreGa:
    case RDB_TYPE.hashListpackExPreGa:
    case RDB_TYPE.hashMetadata:
    case RDB_TYPE.hashListpackEx:
      return 'hash';
    case RDB_TYPE.streamListpacks:
    case RDB_TYPE.streamListpacks2:
    case RDB_TYPE.streamListpacks3:
      return 'stream';
    default:
      return 'module';
  }
}
