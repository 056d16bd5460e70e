import { GUNYU_ERROR_CODES, GunyuError } from '../errors';
import { AggregateWalker } from './aggregate-walker';
import type { ByteCursor } from './byte-cursor';
import { RDB_MODULE_OPCODE, RDB_TYPE } from './rdb-constants';

/** Skips a module opcode stream (rdbLoadCheckModuleValue) up to its EOF opcode. */
export function skipModuleOpcodes(cursor: ByteCursor): void {
  for (;;) {
    const opcode = cursor.readPlainLength();
    switch (opcode) {
      case RDB_MODULE_OPCODE.eof:
        return;
      case RDB_MODULE_OPCODE.signedInt:
      case RDB_MODULE_OPCODE.unsignedInt:
        cursor.readLength();
        break;
      case RDB_MODULE_OPCODE.float:
        cursor.skip(4);
        break;
      case RDB_MODULE_OPCODE.double:
        cursor.skip(8);
        break;
      case RDB_MODULE_OPCODE.string:
        cursor.skipString();
        break;
      default:
        throw cursor.corrupted(`unknown module opcode ${opcode}`);
    }
  }
}

function skipStream(cursor: ByteCursor, type: number): void {
  const nodes = cursor.readPlainLength();
  for (let i = 0; i < nodes; i++) {
    cursor.skipString();
    cursor.skipString();
  }
  cursor.readPlainLength(); // items
  cursor.readPlainLength(); // last id ms
  cursor.readPlainLength(); // last id seq
  if (type >= RDB_TYPE.streamListpacks2) {
    for (let i = 0; i < 5; i++) cursor.readPlainLength(); // first id, max deleted id, entries added
  }
  const groups = cursor.readPlainLength();
  for (let g = 0; g < groups; g++) {
    cursor.skipString();
    cursor.readPlainLength();
    cursor.readPlainLength();
    if (type >= RDB_TYPE.streamListpacks2) cursor.readPlainLength(); // entries_read
    const pending = cursor.readPlainLength();
    for (let p = 0; p < pending; p++) {
      cursor.skip(16 + 8);
      cursor.readPlainLength();
    }
    const consumers = cursor.readPlainLength();
    for (let c = 0; c < consumers; c++) {
      cursor.skipString();
      cursor.skip(type >= RDB_TYPE.streamListpacks3 ? 16 : 8); // seen_time (+ active_time in v3)
      const owned = cursor.readPlainLength();
      cursor.skip(owned * 16);
    }
  }
}

/**
 * Hash with field expirations in a dict (rdb.c rdbSaveObject, OBJ_ENCODING_HT with a field TTL):
 * [min expire u64 LE ms (24 only)] len, then per field `len ttl, string field, string value`.
 */
function skipHashMetadata(cursor: ByteCursor, type: number): void {
  if (type === RDB_TYPE.hashMetadata) cursor.skip(8);
  const fields = cursor.readPlainLength();
  for (let i = 0; i < fields; i++) {
    cursor.readPlainLength();
    cursor.skipString();
    cursor.skipString();
  }
}

/**
 * Moves the cursor past one serialized value of `type` without materialising it, so the raw bytes
 * can be re-wrapped into a DUMP payload. Unknown types fail with the type and offset.
 */
export function skipValue(cursor: ByteCursor, type: number): void {
  switch (type) {
    case RDB_TYPE.string:
    case RDB_TYPE.hashZipmap:
    case RDB_TYPE.listZiplist:
    case RDB_TYPE.setIntset:
    case RDB_TYPE.zsetZiplist:
    case RDB_TYPE.hashZiplist:
    case RDB_TYPE.hashListpack:
    case RDB_TYPE.zsetListpack:
    case RDB_TYPE.setListpack:
    case RDB_TYPE.hashListpackExPreGa:
      cursor.skipString();
      return;
    case RDB_TYPE.list:
    case RDB_TYPE.set:
    case RDB_TYPE.zset:
    case RDB_TYPE.hash:
    case RDB_TYPE.zset2:
    case RDB_TYPE.listQuicklist:
    case RDB_TYPE.listQuicklist2: {
      const walker = new AggregateWalker(type, cursor.readPlainLength());
      while (walker.remaining > 0) walker.skipItem(cursor);
      return;
    }
    case RDB_TYPE.hashMetadataPreGa:
    case RDB_TYPE.hashMetadata:
      skipHashMetadata(cursor, type);
      return;
    case RDB_TYPE.hashListpackEx:
      cursor.skip(8); // min expire (rdbSaveObject, OBJ_ENCODING_LISTPACK_EX), then the listpack
      cursor.skipString();
      return;
    case RDB_TYPE.module2:
      cursor.readPlainLength(); // module id (64-bit, length-encoded)
      skipModuleOpcodes(cursor);
      return;
    case RDB_TYPE.streamListpacks:
    case RDB_TYPE.streamListpacks2:
    case RDB_TYPE.streamListpacks3:
      skipStream(cursor, type);
      return;
    default:
      throw new GunyuError(
        GUNYU_ERROR_CODES.rdbUnsupported,
        `unsupported RDB value type ${type}`,
        cursor.baseOffset + cursor.position,
      );
  }
}
