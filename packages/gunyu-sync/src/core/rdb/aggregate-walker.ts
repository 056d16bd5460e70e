import type { ByteCursor } from './byte-cursor';
import { decodeListpack, decodeZiplist, type Element } from './encodings';
import { RDB_TYPE } from './rdb-constants';

/** Value types made of a count followed by items, so they can be walked (and streamed) item by item. */
const AGGREGATE_TYPES: ReadonlySet<number> = new Set([
  RDB_TYPE.list,
  RDB_TYPE.set,
  RDB_TYPE.zset,
  RDB_TYPE.hash,
  RDB_TYPE.zset2,
  RDB_TYPE.listQuicklist,
  RDB_TYPE.listQuicklist2,
]);

export function isAggregateType(type: number): boolean {
  return AGGREGATE_TYPES.has(type);
}

/** The command that appends items of a streamed value (its arguments are what `readItem` yields). */
export function appendCommandOf(type: number): 'RPUSH' | 'SADD' | 'ZADD' | 'HSET' | 'APPEND' {
  switch (type) {
    case RDB_TYPE.set:
      return 'SADD';
    case RDB_TYPE.zset:
    case RDB_TYPE.zset2:
      return 'ZADD';
    case RDB_TYPE.hash:
      return 'HSET';
    case RDB_TYPE.string:
      return 'APPEND';
    default:
      return 'RPUSH';
  }
}

/** Shortest text that round-trips the double, as Redis accepts it. */
export function formatScore(score: number): string {
  if (Number.isNaN(score)) return 'nan';
  if (score === Number.POSITIVE_INFINITY) return 'inf';
  if (score === Number.NEGATIVE_INFINITY) return '-inf';
  return String(score);
}

/**
 * Walks the items of one aggregate value after its count header: an element (list, set), a pair
 * (hash, zset) or a node (quicklist). Each call reads one whole item or throws (NEED_MORE on a partial
 * cursor), so a caller can remember the position after the last complete item and resume there.
 */
export class AggregateWalker {
  constructor(
    readonly type: number,
    /** Items still to read. */
    public remaining: number,
  ) {}

  skipItem(cursor: ByteCursor): void {
    switch (this.type) {
      case RDB_TYPE.zset:
        cursor.skipString();
        skipOldScore(cursor);
        break;
      case RDB_TYPE.zset2:
        cursor.skipString();
        cursor.skip(8);
        break;
      case RDB_TYPE.hash:
        cursor.skipString();
        cursor.skipString();
        break;
      case RDB_TYPE.listQuicklist2:
        cursor.readPlainLength();
        cursor.skipString();
        break;
      default:
        cursor.skipString();
    }
    this.remaining--;
  }

  /** Reads one item as arguments of `appendCommandOf(type)`: zset pairs come out score first. */
  readItem(cursor: ByteCursor, out: Element[]): void {
    switch (this.type) {
      case RDB_TYPE.zset:
      case RDB_TYPE.zset2: {
        const member = cursor.readString();
        const score =
          this.type === RDB_TYPE.zset ? cursor.readDoubleString() : formatScore(cursor.readDoubleLE());
        out.push(Buffer.from(score), member);
        break;
      }
      case RDB_TYPE.hash: {
        const field = cursor.readString();
        out.push(field, cursor.readString());
        break;
      }
      case RDB_TYPE.listQuicklist:
        for (const element of decodeZiplist(cursor.readString())) out.push(element);
        break;
      case RDB_TYPE.listQuicklist2: {
        const container = cursor.readPlainLength();
        const blob = cursor.readString();
        if (container === 1) out.push(blob);
        else for (const element of decodeListpack(blob)) out.push(element);
        break;
      }
      default:
        out.push(cursor.readString());
    }
    this.remaining--;
  }
}

function skipOldScore(cursor: ByteCursor): void {
  const length = cursor.readByte();
  if (length < 253) cursor.skip(length);
}
