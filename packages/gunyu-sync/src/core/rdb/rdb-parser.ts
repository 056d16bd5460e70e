import { GUNYU_ERROR_CODES, GunyuError } from '../errors';
import { AggregateWalker, isAggregateType } from './aggregate-walker';
import { ByteCursor, NEED_MORE, NeedMoreData } from './byte-cursor';
import { Crc64 } from './crc64';
import { RDB_MAX_VERSION, RDB_OPCODE, RDB_TYPE } from './rdb-constants';
import {
  DEFAULT_RDB_PARSER_OPTIONS,
  type RdbEntry,
  type RdbEvent,
  type RdbParserOptions,
  type RdbValuePart,
} from './rdb-events';
import { skipModuleOpcodes, skipValue } from './value-skipper';

export {
  DEFAULT_RDB_PARSER_OPTIONS,
  EMPTY_CHUNK,
  type RdbEntry,
  type RdbEvent,
  type RdbParserOptions,
  type RdbValuePart,
} from './rdb-events';

/** Room above maxBufferedValueBytes for the chunk being appended and one part. */
const CAPACITY_SLACK = 2 * 1024 * 1024;

const INITIAL_CAPACITY = 64 * 1024;
/** An aggregate value still incomplete after this many buffered bytes is walked item by item from then on. */
const RESUMABLE_WALK_BYTES = 256 * 1024;
/** Bounds of one `value-part` event. */
const PART_MAX_ELEMENTS = 1024;
const PART_MAX_BYTES = 1024 * 1024;

/** Header of the entry being read in several pushes (positions relative to `start`, which stays put). */
interface ResumableEntry {
  key: Buffer;
  type: number;
  count: number;
  valueAt: number;
  itemsAt: number;
  walkedTo: number;
  walker: AggregateWalker;
}

/** A value being emitted as parts (its header is consumed; bytes are consumed part by part). */
interface StreamedValue {
  key: Buffer;
  type: number;
  db: number;
  expireAtMs: number;
  /** Items (aggregates) still to read, or undefined for a plain string. */
  walker: AggregateWalker | undefined;
  stringBytesLeft: number;
  first: boolean;
}

/**
 * Streaming RDB parser: `push()` chunks of any size, get back the complete events they finish.
 * A value is emitted as one raw slice up to `maxBufferedValueBytes`, and as decoded parts beyond, so
 * memory stays bounded; bytes are dropped from the buffer as soon as an event is emitted. An entry
 * spread over many pushes is walked item by item, never re-scanned from its start. After the EOF opcode (and footer) the
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
  private resumable: ResumableEntry | undefined;
  private stoppedEarly = false;
  private streamed: StreamedValue | undefined;

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

  /** The last push stopped at maxPartBytesPerPush: push(EMPTY_CHUNK) for the rest of what is buffered. */
  get hasMore(): boolean {
    return this.stoppedEarly;
  }

  /** Size of the parser's buffer: what it holds in memory at most right now. */
  get bufferCapacity(): number {
    return this.buffer.length;
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
      const cap = this.options.maxBufferedValueBytes + CAPACITY_SLACK;
      const atCap = this.buffer.length >= cap;
      if (live + length <= this.buffer.length && this.start > 0 && (live < this.buffer.length / 2 || atCap)) {
        this.buffer.copy(this.buffer, 0, this.start, this.end);
      } else {
        let capacity = this.buffer.length;
        while (capacity < live + length) capacity *= 2;
        // Doubling past the value bound would hold up to twice the bound for nothing.
        if (capacity > cap && live + length <= cap) capacity = cap;
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
    this.stoppedEarly = false;
    let partBytes = 0;
    while (!this.finished) {
      if (partBytes >= this.options.maxPartBytesPerPush) {
        this.stoppedEarly = true;
        return;
      }
      cursor.position = this.start;
      cursor.baseOffset = this.consumedBefore;
      try {
        const before = this.start;
        const event = this.parseOne(cursor);
        if (event) events.push(event);
        if (event?.kind === 'value-part') partBytes += this.start - before;
      } catch (error) {
        if (!(error instanceof NeedMoreData)) throw error;
        this.needed = NEED_MORE.needed;
        if (!this.beginLargeValue(cursor)) return;
        this.needed = 0;
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
    if (this.streamed) return this.readPart(cursor, this.streamed);
    if (this.resumable) return this.resumeWalk(cursor, this.resumable);
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
        const key = cursor.readString();
        const valueStart = cursor.position;
        skipValue(cursor, opcode);
        event = this.entry(key, opcode, this.buffer.subarray(valueStart, cursor.position));
      }
    }
    this.consume(cursor.position);
    return event;
  }

  private entry(key: Buffer, type: number, value: Buffer): RdbEntry {
    const entry: RdbEntry = {
      kind: 'entry',
      db: this.db,
      key,
      type,
      expireAtMs: this.expireAtMs,
      idleSeconds: this.idleSeconds,
      frequency: this.frequency,
      value,
    };
    this.expireAtMs = -1;
    this.idleSeconds = -1;
    this.frequency = -1;
    return entry;
  }

  /**
   * Called when the buffered bytes end inside an item. A big aggregate entry switches to a resumable
   * walk (no re-scan of what is already buffered), and a value beyond `maxBufferedValueBytes` to parts.
   * Returns true when parsing can go on with the bytes at hand.
   */
  private beginLargeValue(cursor: ByteCursor): boolean {
    const buffered = this.end - this.start;
    const limit = this.options.maxBufferedValueBytes;
    if (this.streamed) return false;
    if (this.resumable) {
      if (buffered <= limit) return false;
      // Walked so far without finding the end: emit it as parts from its first item on.
      const { key, type, count, itemsAt } = this.resumable;
      this.resumable = undefined;
      this.consume(this.start + itemsAt);
      this.streamValue(key, type, new AggregateWalker(type, count), 0);
      return true;
    }
    if (buffered < Math.min(RESUMABLE_WALK_BYTES, limit) && this.needed - this.start <= limit) return false;
    cursor.position = this.start;
    try {
      const type = cursor.readByte();
      if (isAggregateType(type)) {
        const key = Buffer.from(cursor.readString());
        const valueAt = cursor.position - this.start;
        const count = cursor.readPlainLength();
        const itemsAt = cursor.position - this.start;
        const walker = new AggregateWalker(type, count);
        this.resumable = { key, type, count, valueAt, itemsAt, walkedTo: itemsAt, walker };
        return true;
      }
      if (type !== RDB_TYPE.string) return false;
      const key = Buffer.from(cursor.readString());
      const length = cursor.readLength();
      if (cursor.lastEncoded || length <= limit) return false; // LZF strings are buffered whole
      this.consume(cursor.position);
      this.streamValue(key, type, undefined, length);
      return true;
    } catch (error) {
      if (error instanceof NeedMoreData) return false; // the header itself is not complete yet
      throw error;
    }
  }

  private streamValue(
    key: Buffer,
    type: number,
    walker: AggregateWalker | undefined,
    stringBytes: number,
  ): void {
    this.streamed = {
      key,
      type,
      db: this.db,
      expireAtMs: this.expireAtMs,
      walker,
      stringBytesLeft: stringBytes,
      first: true,
    };
    this.expireAtMs = -1;
    this.idleSeconds = -1;
    this.frequency = -1;
  }

  /** Continues walking a big entry from the last complete item; emits it whole once it ends. */
  private resumeWalk(cursor: ByteCursor, entry: ResumableEntry): RdbEntry {
    cursor.position = this.start + entry.walkedTo;
    while (entry.walker.remaining > 0) {
      entry.walker.skipItem(cursor);
      entry.walkedTo = cursor.position - this.start;
    }
    this.resumable = undefined;
    const event = this.entry(
      entry.key,
      entry.type,
      this.buffer.subarray(this.start + entry.valueAt, cursor.position),
    );
    this.consume(cursor.position);
    return event;
  }

  /** The next part of a streamed value: the complete items at hand, bounded by PART_MAX_*. */
  private readPart(cursor: ByteCursor, value: StreamedValue): RdbValuePart {
    const elements: Buffer[] = [];
    const walker = value.walker;
    let committed = cursor.position;
    let committedElements = 0;
    try {
      while (committed - this.start < PART_MAX_BYTES && committedElements < PART_MAX_ELEMENTS) {
        if (walker) {
          if (walker.remaining === 0) break;
          walker.readItem(cursor, elements);
        } else {
          if (value.stringBytesLeft === 0) break;
          cursor.require(1);
          const take = Math.min(value.stringBytesLeft, cursor.end - cursor.position, PART_MAX_BYTES);
          elements.push(cursor.readBytes(take));
          value.stringBytesLeft -= take;
        }
        committed = cursor.position;
        committedElements = elements.length;
      }
    } catch (error) {
      if (!(error instanceof NeedMoreData) || committedElements === 0) throw error;
      elements.length = committedElements; // drop a half-read pair (remaining counts whole items only)
    }
    const last = walker ? walker.remaining === 0 : value.stringBytesLeft === 0;
    const part: RdbValuePart = {
      kind: 'value-part',
      db: value.db,
      key: value.key,
      type: value.type,
      expireAtMs: value.expireAtMs,
      elements,
      first: value.first,
      last,
    };
    value.first = false;
    if (last) this.streamed = undefined;
    this.consume(committed);
    return part;
  }
}

/** Parses a complete RDB held in memory. */
export function parseRdb(data: Uint8Array, options: Partial<RdbParserOptions> = {}): RdbEvent[] {
  const parser = new RdbParser(options);
  const events = parser.push(data);
  if (!parser.done) throw new GunyuError(GUNYU_ERROR_CODES.rdbCorrupted, 'truncated RDB', parser.offset);
  return events;
}
