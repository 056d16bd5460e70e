// What RdbParser emits and how it is tuned (the parser itself is rdb-parser.ts).

export interface RdbEntry {
  kind: 'entry';
  db: number;
  key: Buffer;
  /** RDB value type byte. */
  type: number;
  /** Absolute expiry in ms since the epoch, or -1. */
  expireAtMs: number;
  idleSeconds: number;
  frequency: number;
  /**
   * The serialized value exactly as in the RDB (type byte excluded). `key` and `value` are views of the
   * parser's buffer, valid until the next `push()`: copy them to keep them longer.
   */
  value: Buffer;
}

/**
 * A piece of a value too large to buffer (`maxBufferedValueBytes`), decoded as the arguments of the
 * command that appends it (`appendCommandOf(type)`: RPUSH/SADD/ZADD score member/HSET field value, or
 * SET then APPEND chunks of a plain string). `key` is owned; `elements` are views valid until the next
 * `push()`.
 */
export interface RdbValuePart {
  kind: 'value-part';
  db: number;
  key: Buffer;
  type: number;
  expireAtMs: number;
  elements: Buffer[];
  /** The first part of this key (the caller replaces the old value here). */
  first: boolean;
  /** The last part of this key (the caller sets the expiry here). */
  last: boolean;
}

export type RdbEvent =
  | { kind: 'header'; version: number }
  | { kind: 'aux'; key: string; value: Buffer }
  | { kind: 'select-db'; db: number }
  | { kind: 'resize-db'; size: number; expiresSize: number }
  | RdbEntry
  | RdbValuePart
  | { kind: 'function'; code: Buffer }
  | { kind: 'module-aux'; moduleId: number }
  | { kind: 'end'; checksum: bigint | null; computed: bigint };

export interface RdbParserOptions {
  /** Verify the CRC64 footer and throw GUNYU_ERR_RDB_CHECKSUM on mismatch. */
  verifyChecksum: boolean;
  /**
   * A list, set, hash, zset or plain string larger than this is not buffered whole: it is emitted as
   * `value-part` events, so memory stays bounded by this, not by the largest value.
   */
  maxBufferedValueBytes: number;
  /**
   * Stop a `push()` once it produced this many bytes of `value-part` events (`hasMore` tells the
   * caller to `push(EMPTY)` after handling them), so switching a 32 MiB buffered value to parts does
   * not put all of it in one events array. Infinity = never stop early.
   */
  maxPartBytesPerPush: number;
}

export const DEFAULT_RDB_PARSER_OPTIONS: Readonly<RdbParserOptions> = Object.freeze({
  verifyChecksum: true,
  maxBufferedValueBytes: 32 * 1024 * 1024,
  maxPartBytesPerPush: Number.POSITIVE_INFINITY,
});

/** Push this to continue parsing what is already buffered (after `hasMore`). */
export const EMPTY_CHUNK = new Uint8Array(0);
