import { GUNYU_ERROR_CODES, GunyuError } from '../errors';
import { ByteCursor, NEED_MORE, NeedMoreData } from './byte-cursor';
import { Crc64 } from './crc64';
import { RDB_MAX_VERSION, RDB_OPCODE } from './rdb-constants';
import { skipModuleOpcodes, skipValue } from './value-skipper';

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
  /** The serialized value exactly as in the RDB (type byte excluded), a copy owned by the caller. */
  value: Buffer;
}

export type RdbEvent =
  | { kind: 'header'; version: number }
  | { kind: 'aux'; key: string; value: Buffer }
  | { kind: 'select-db'; db: number }
  | { kind: 'resize-db'; size: number; expiresSize: number }
  | RdbEntry
  | { kind: 'function'; code: Buffer }
  | { kind: 'module-aux'; moduleId: number }
  | { kind: 'end'; checksum: bigint | null; computed: bigint };

export interface RdbParserOptions {
  /** Verify the CRC64 footer and throw GUNYU_ERR_RDB_CHECKSUM on mismatch. */
  verifyChecksum: boolean;
}

export const DEFAULT_RDB_PARSER_OPTIONS: Readonly<RdbParserOptions> = Object.freeze({ verifyChecksum: true });

const INITIAL_CAPACITY = 64 * 1024;

/**
 * Streaming RDB parser: `push()` chunks of any size, get back the complete events they finish.
 * Memory stays bounded by the largest single value (a value is emitted as one raw slice); bytes are
 * dropped from the buffer as soon as an event is emitted. After the EOF opcode (and footer) the
 * parser is done and `push` returns the number of trailing bytes that belong to whatever follows.
 */
export class RdbParser {
  private readonly options: RdbParserOptions;
  private buffer = Buffer.allocUnsafe(INITIAL_CAPACITY);
  private start = 0;
  private end = 0;
  private needed = 0;
  private readonly cursor: ByteCursor;
  private readonly crc = new Crc64();
  /** Stream offset of buffer[0]. */
  private consumedBefore = 0;
  private version = 0;
  private db = 0;
  private expireAtMs = -1;
  private idleSeconds = -1;
  private frequency = -1;
  private finished = false;

  constructor(options: Partial<RdbParserOptions> = {}) {
    this.options = { ...DEFAULT_RDB_PARSER_OPTIONS, ...options };
    this.cursor = new ByteCursor(this.buffer, 0, 0, true);
  }

  get done(): boolean {
    return this.finished;
  }

  get rdbVersion(): number {
    return this.version;
  }

  /** Bytes of the RDB consumed so far. */
  get offset(): number {
    return this.consumedBefore + this.start;
  }

  /**
   * Feeds bytes; returns the events completed by them. When the RDB ends inside `chunk`, the bytes
   * after it are available through `trailing`.
   */
  push(chunk: Uint8Array, events: RdbEvent[] = []): RdbEvent[] {
    if (this.finished) throw new GunyuError(GUNYU_ERROR_CODES.rdbCorrupted, 'data after the RDB end');
    this.append(chunk);
    if (this.end < this.needed) return events;
    this.parseAvailable(events);
    return events;
  }

  /** Bytes received after the RDB end (only meaningful once `done`). */
  trailing(): Buffer {
    return Buffer.from(this.buffer.subarray(this.start, this.end));
  }

  private append(chunk: Uint8Array): void {
    const length = chunk.length;
    if (this.end + length > this.buffer.length) {
      const live = this.end - this.start;
      if (live + length <= this.buffer.length && this.start > 0 && live < this.buffer.length / 2) {
        this.buffer.copy(this.buffer, 0, this.start, this.end);
      } else {
        let capacity = this.buffer.length;
        while (capacity < live + length) capacity *= 2;
        const next = Buffer.allocUnsafe(capacity);
        this.buffer.copy(next, 0, this.start, this.end);
        this.buffer = next;
        this.cursor.buffer = next;
      }
      this.consumedBefore += this.start;
      this.needed -= this.start;
      this.start = 0;
      this.end = live;
    }
    this.buffer.set(chunk, this.end);
    this.end += length;
  }

  private consume(to: number): void {
    this.crc.update(this.buffer, this.start, to);
    this.start = to;
  }

  private parseAvailable(events: RdbEvent[]): void {
    const cursor = this.cursor;
    cursor.end = this.end;
    while (!this.finished) {
      cursor.position = this.start;
      cursor.baseOffset = this.consumedBefore;
      try {
        const event = this.parseOne(cursor);
        if (event) events.push(event);
      } catch (error) {
        if (error instanceof NeedMoreData) {
          this.needed = NEED_MORE.needed;
          return;
        }
        throw error;
      }
    }
  }

  private parseOne(cursor: ByteCursor): RdbEvent | null {
    if (this.version === 0) {
      const magic = cursor.readBytes(9);
      if (magic.toString('latin1', 0, 5) !== 'REDIS') throw cursor.corrupted('missing REDIS magic');
      const version = Number.parseInt(magic.toString('latin1', 5, 9), 10);
      if (!(version >= 1 && version <= RDB_MAX_VERSION)) {
        throw new GunyuError(
          GUNYU_ERROR_CODES.rdbUnsupported,
          `unsupported RDB version ${magic.toString('latin1', 5, 9)}`,
          this.offset,
        );
      }
      this.version = version;
      this.consume(cursor.position);
      return { kind: 'header', version };
    }
    const opcode = cursor.readByte();
    let event: RdbEvent | null = null;
    switch (opcode) {
      case RDB_OPCODE.aux: {
        const key = cursor.readString().toString('latin1');
        const value = Buffer.from(cursor.readString());
        event = { kind: 'aux', key, value };
        break;
      }
      case RDB_OPCODE.selectDb:
        this.db = cursor.readPlainLength();
        event = { kind: 'select-db', db: this.db };
        break;
      case RDB_OPCODE.resizeDb:
        event = { kind: 'resize-db', size: cursor.readPlainLength(), expiresSize: cursor.readPlainLength() };
        break;
      case RDB_OPCODE.expireTime:
        this.expireAtMs = cursor.readUint32LE() * 1000;
        break;
      case RDB_OPCODE.expireTimeMs:
        this.expireAtMs = cursor.readUint64LE();
        break;
      case RDB_OPCODE.idle:
        this.idleSeconds = cursor.readPlainLength();
        break;
      case RDB_OPCODE.freq:
        this.frequency = cursor.readByte();
        break;
      case RDB_OPCODE.moduleAux: {
        const moduleId = cursor.readPlainLength();
        cursor.readPlainLength(); // when_opcode
        cursor.readPlainLength(); // when
        skipModuleOpcodes(cursor);
        event = { kind: 'module-aux', moduleId };
        break;
      }
      case RDB_OPCODE.function2:
        event = { kind: 'function', code: Buffer.from(cursor.readString()) };
        break;
      case RDB_OPCODE.slotInfo:
        cursor.readPlainLength();
        cursor.readPlainLength();
        cursor.readPlainLength();
        break;
      case RDB_OPCODE.functionPreGa:
        throw new GunyuError(
          GUNYU_ERROR_CODES.rdbUnsupported,
          'pre-GA FUNCTION opcode (Redis 7.0 RC) is not supported',
          this.offset,
        );
      case RDB_OPCODE.eof: {
        if (this.version >= 5) cursor.require(8);
        this.consume(cursor.position);
        const computed = this.crc.value();
        let checksum: bigint | null = null;
        if (this.version >= 5) {
          checksum = this.buffer.readBigUInt64LE(cursor.position);
          cursor.position += 8;
          if (this.options.verifyChecksum && checksum !== 0n && checksum !== computed) {
            throw new GunyuError(
              GUNYU_ERROR_CODES.rdbChecksum,
              `RDB checksum mismatch: footer ${checksum.toString(16)}, computed ${computed.toString(16)}`,
              this.offset,
            );
          }
        }
        this.start = cursor.position;
        this.finished = true;
        return { kind: 'end', checksum: checksum === 0n ? null : checksum, computed };
      }
      default: {
        const key = Buffer.from(cursor.readString());
        const valueStart = cursor.position;
        skipValue(cursor, opcode);
        event = {
          kind: 'entry',
          db: this.db,
          key,
          type: opcode,
          expireAtMs: this.expireAtMs,
          idleSeconds: this.idleSeconds,
          frequency: this.frequency,
          value: Buffer.from(this.buffer.subarray(valueStart, cursor.position)),
        };
        this.expireAtMs = -1;
        this.idleSeconds = -1;
        this.frequency = -1;
      }
    }
    this.consume(cursor.position);
    return event;
  }
}

/** Parses a complete RDB held in memory. */
export function parseRdb(data: Uint8Array, options: Partial<RdbParserOptions> = {}): RdbEvent[] {
  const parser = new RdbParser(options);
  const events = parser.push(data);
  if (!parser.done) throw new GunyuError(GUNYU_ERROR_CODES.rdbCorrupted, 'truncated RDB', parser.offset);
  return events;
}
