import { GUNYU_ERROR_CODES, GunyuError } from '../errors';
import { lzfDecompress } from './lzf';
import { RDB_ENCODING } from './rdb-constants';

/** Thrown (as a singleton, no stack) when the buffered bytes end before the item does. */
export class NeedMoreData {
  /** Absolute index in the buffer up to which bytes are needed before a retry can succeed. */
  needed = 0;
}
export const NEED_MORE = new NeedMoreData();

/**
 * A read cursor over `buffer[position, end)` that reads RDB primitives. When `partial` is true,
 * running out of bytes throws NEED_MORE (the streaming parser retries with more data); otherwise it
 * is corruption.
 */
export class ByteCursor {
  buffer: Buffer;
  position: number;
  end: number;
  partial: boolean;
  /** Absolute stream offset of buffer[0], for error messages. */
  baseOffset = 0;

  constructor(buffer: Buffer, position = 0, end = buffer.length, partial = false) {
    this.buffer = buffer;
    this.position = position;
    this.end = end;
    this.partial = partial;
  }

  corrupted(message: string): GunyuError {
    return new GunyuError(GUNYU_ERROR_CODES.rdbCorrupted, message, this.baseOffset + this.position);
  }

  require(count: number): void {
    if (this.position + count <= this.end) return;
    if (this.partial) {
      NEED_MORE.needed = this.position + count;
      throw NEED_MORE;
    }
    throw this.corrupted(`truncated data: need ${count} bytes, have ${this.end - this.position}`);
  }

  readByte(): number {
    this.require(1);
    return this.buffer[this.position++] as number;
  }

  skip(count: number): void {
    this.require(count);
    this.position += count;
  }

  readBytes(count: number): Buffer {
    this.require(count);
    const bytes = this.buffer.subarray(this.position, this.position + count);
    this.position += count;
    return bytes;
  }

  readUint32LE(): number {
    this.require(4);
    const value = this.buffer.readUInt32LE(this.position);
    this.position += 4;
    return value;
  }

  readUint64LE(): number {
    this.require(8);
    const value = Number(this.buffer.readBigUInt64LE(this.position));
    this.position += 8;
    return value;
  }

  readDoubleLE(): number {
    this.require(8);
    const value = this.buffer.readDoubleLE(this.position);
    this.position += 8;
    return value;
  }

  /**
   * RDB length (rdbLoadLenByRef). Returns the length; `lastEncoded` tells whether it was a special
   * string encoding (0b11 prefix), in which case the value is the encoding id.
   */
  lastEncoded = false;
  readLength(): number {
    const first = this.readByte();
    const kind = first >> 6;
    this.lastEncoded = false;
    if (kind === 0) return first & 0x3f;
    if (kind === 1) return ((first & 0x3f) << 8) | this.readByte();
    if (kind === 3) {
      this.lastEncoded = true;
      return first & 0x3f;
    }
    if (first === 0x80) {
      this.require(4);
      const value = this.buffer.readUInt32BE(this.position);
      this.position += 4;
      return value;
    }
    if (first === 0x81) {
      this.require(8);
      const value = Number(this.buffer.readBigUInt64BE(this.position));
      this.position += 8;
      return value;
    }
    throw this.corrupted(`unknown length encoding 0x${first.toString(16)}`);
  }

  /** A length that must not be a special string encoding. */
  readPlainLength(): number {
    const value = this.readLength();
    if (this.lastEncoded) throw this.corrupted('unexpected encoded length');
    return value;
  }

  /** Decoded string bytes (ints rendered as decimal, LZF decompressed). */
  readString(): Buffer {
    const length = this.readLength();
    if (!this.lastEncoded) return this.readBytes(length);
    switch (length) {
      case RDB_ENCODING.int8: {
        this.require(1);
        const value = this.buffer.readInt8(this.position);
        this.position += 1;
        return Buffer.from(String(value));
      }
      case RDB_ENCODING.int16: {
        this.require(2);
        const value = this.buffer.readInt16LE(this.position);
        this.position += 2;
        return Buffer.from(String(value));
      }
      case RDB_ENCODING.int32: {
        this.require(4);
        const value = this.buffer.readInt32LE(this.position);
        this.position += 4;
        return Buffer.from(String(value));
      }
      case RDB_ENCODING.lzf: {
        const compressedLength = this.readPlainLength();
        const length = this.readPlainLength();
        const compressed = this.readBytes(compressedLength);
        return lzfDecompress(compressed, length);
      }
      default:
        throw this.corrupted(`unknown string encoding ${length}`);
    }
  }

  /** Skips one RDB string without decoding it. */
  skipString(): void {
    const length = this.readLength();
    if (!this.lastEncoded) {
      this.skip(length);
      return;
    }
    switch (length) {
      case RDB_ENCODING.int8:
        this.skip(1);
        return;
      case RDB_ENCODING.int16:
        this.skip(2);
        return;
      case RDB_ENCODING.int32:
        this.skip(4);
        return;
      case RDB_ENCODING.lzf: {
        const compressedLength = this.readPlainLength();
        this.readPlainLength();
        this.skip(compressedLength);
        return;
      }
      default:
        throw this.corrupted(`unknown string encoding ${length}`);
    }
  }

  /** Old zset score: 1-byte length, 253 NaN, 254 +inf, 255 -inf. Returns the score as text. */
  readDoubleString(): string {
    const length = this.readByte();
    if (length === 253) return 'nan';
    if (length === 254) return 'inf';
    if (length === 255) return '-inf';
    return this.readBytes(length).toString('latin1');
  }
}
