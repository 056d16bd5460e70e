import { findCrlf, parseInteger } from './bytes';
import type { RespLimits } from './limits';
import { RespProtocolError } from './protocol-error';
import { ReplyScanner } from './reply-scanner';
import { RespErrorReply, RespPush, type RespValue, RespVerbatimString } from './reply-values';
import { RESP_TYPE } from './resp-type';

export interface RespDecoderOptions {
  limits?: Partial<RespLimits>;
  /** Bulk strings as UTF-8 strings instead of Buffers. */
  bulkAsString: boolean;
  /** RESP3 maps as `Map` (keys of any type) or plain objects (keys stringified). */
  mapAs: 'map' | 'object';
}

export const DEFAULT_RESP_DECODER_OPTIONS: Readonly<RespDecoderOptions> = Object.freeze({
  bulkAsString: false,
  mapAs: 'map',
});

const MIN_BUFFER_BYTES = 16 * 1024;

/**
 * Streaming RESP2/RESP3 reply decoder into JS values. Not for hot paths: the proxy and the replication
 * stream use the scanners and forward bytes.
 *
 * Bulk strings decoded as Buffers are views of the decoder's input and stay valid: the decoder never
 * overwrites bytes it has handed out (a full buffer is replaced, not compacted).
 * Attributes (`|`) are skipped; the last one seen is kept in `lastAttribute`.
 */
export class RespDecoder {
  lastAttribute: RespValue = null;
  private readonly options: RespDecoderOptions;
  private readonly scanner: ReplyScanner;
  private buffer: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  private ownsBuffer = false;
  private cursor = 0;

  constructor(options: Partial<RespDecoderOptions> = {}) {
    this.options = { ...DEFAULT_RESP_DECODER_OPTIONS, ...options };
    this.scanner = new ReplyScanner(this.options.limits);
  }

  /** Bytes received but not yet part of a complete reply. */
  get pendingBytes(): number {
    return this.end - this.start;
  }

  /** Adds bytes and returns every reply they complete. Throws RespProtocolError on bad input. */
  feed(chunk: Buffer): RespValue[] {
    this.append(chunk);
    const replies: RespValue[] = [];
    while (this.start < this.end) {
      const replyEnd = this.scanner.scan(this.buffer, this.start, this.end);
      if (replyEnd < 0) break;
      this.cursor = this.start;
      replies.push(this.decodeValue());
      this.start = replyEnd;
    }
    if (this.start === this.end) this.release();
    return replies;
  }

  private append(chunk: Buffer): void {
    if (this.start === this.end) {
      // Nothing pending: read straight from the caller's chunk.
      this.buffer = chunk;
      this.start = 0;
      this.end = chunk.length;
      this.ownsBuffer = false;
      return;
    }
    if (!this.ownsBuffer || this.end + chunk.length > this.buffer.length) {
      const pending = this.end - this.start;
      const next = Buffer.allocUnsafe(Math.max(MIN_BUFFER_BYTES, (pending + chunk.length) * 2));
      this.buffer.copy(next, 0, this.start, this.end);
      this.buffer = next;
      this.start = 0;
      this.end = pending;
      this.ownsBuffer = true;
    }
    chunk.copy(this.buffer, this.end);
    this.end += chunk.length;
  }

  private release(): void {
    this.buffer = Buffer.alloc(0);
    this.start = 0;
    this.end = 0;
    this.ownsBuffer = false;
  }

  /** Decodes the value at `cursor`; the scanner already proved it complete and well formed. */
  private decodeValue(): RespValue {
    const buffer = this.buffer;
    const type = buffer[this.cursor] as number;
    const lineStart = this.cursor + 1;
    const lineEnd = findCrlf(buffer, lineStart, this.end);
    this.cursor = lineEnd + 2;
    switch (type) {
      case RESP_TYPE.simpleString:
        return buffer.toString('utf8', lineStart, lineEnd);
      case RESP_TYPE.error:
        return new RespErrorReply(buffer.toString('utf8', lineStart, lineEnd));
      case RESP_TYPE.integer: {
        const value = parseInteger(buffer, lineStart, lineEnd);
        return Number.isSafeInteger(value) ? value : BigInt(buffer.toString('latin1', lineStart, lineEnd));
      }
      case RESP_TYPE.null:
        return null;
      case RESP_TYPE.boolean:
        return buffer[lineStart] === 0x74;
      case RESP_TYPE.double:
        return parseDouble(buffer.toString('latin1', lineStart, lineEnd));
      case RESP_TYPE.bigNumber:
        return BigInt(buffer.toString('latin1', lineStart, lineEnd));
      case RESP_TYPE.bulkString:
      case RESP_TYPE.bulkError:
      case RESP_TYPE.verbatimString:
        return this.decodeBulk(type, lineStart, lineEnd);
      case RESP_TYPE.attribute:
        this.lastAttribute = this.decodeMap(parseInteger(buffer, lineStart, lineEnd));
        return this.decodeValue();
      default:
        return this.decodeAggregate(type, lineStart, lineEnd);
    }
  }

  private decodeBulk(type: number, lineStart: number, lineEnd: number): RespValue {
    const buffer = this.buffer;
    let content: Buffer;
    if (buffer[lineStart] === 0x3f) {
      content = this.decodeStreamedString();
    } else {
      const length = parseInteger(buffer, lineStart, lineEnd);
      if (length < 0) return null;
      content = buffer.subarray(this.cursor, this.cursor + length);
      this.cursor += length + 2;
    }
    if (type === RESP_TYPE.bulkError) return new RespErrorReply(content.toString('utf8'));
    if (type === RESP_TYPE.verbatimString) {
      return new RespVerbatimString(content.toString('latin1', 0, 3), content.toString('utf8', 4));
    }
    return this.options.bulkAsString ? content.toString('utf8') : content;
  }

  private decodeStreamedString(): Buffer {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = findCrlf(this.buffer, this.cursor + 1, this.end);
      const length = parseInteger(this.buffer, this.cursor + 1, lineEnd);
      this.cursor = lineEnd + 2;
      if (length === 0) return Buffer.concat(parts);
      parts.push(this.buffer.subarray(this.cursor, this.cursor + length));
      this.cursor += length + 2;
    }
  }

  private decodeAggregate(type: number, lineStart: number, lineEnd: number): RespValue {
    const streamed = this.buffer[lineStart] === 0x3f;
    const count = streamed ? -2 : parseInteger(this.buffer, lineStart, lineEnd);
    if (count === -1) return null;
    if (type === RESP_TYPE.map) return this.decodeMap(count);
    const items: RespValue[] = [];
    for (let index = 0; streamed ? !this.atStreamEnd() : index < count; index++) {
      items.push(this.decodeValue());
    }
    return type === RESP_TYPE.push ? new RespPush(items) : items;
  }

  private decodeMap(count: number): RespValue {
    const streamed = count === -2;
    if (this.options.mapAs === 'object') {
      const object: { [key: string]: RespValue } = {};
      for (let index = 0; streamed ? !this.atStreamEnd() : index < count; index++) {
        const key = String(this.decodeValue());
        object[key] = this.decodeValue();
      }
      return object;
    }
    const map = new Map<RespValue, RespValue>();
    for (let index = 0; streamed ? !this.atStreamEnd() : index < count; index++) {
      const key = this.decodeValue();
      map.set(key, this.decodeValue());
    }
    return map;
  }

  /** Consumes the `.\r\n` that ends a streamed aggregate. */
  private atStreamEnd(): boolean {
    if (this.buffer[this.cursor] !== RESP_TYPE.streamedEnd) return false;
    this.cursor += 3;
    return true;
  }
}

function parseDouble(text: string): number {
  if (text === 'inf') return Number.POSITIVE_INFINITY;
  if (text === '-inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Decodes every complete reply in `buffer`; throws RespProtocolError if bad or incomplete. */
export function decodeAll(buffer: Buffer, options: Partial<RespDecoderOptions> = {}): RespValue[] {
  const decoder = new RespDecoder(options);
  const replies = decoder.feed(buffer);
  if (decoder.pendingBytes > 0) {
    throw new RespProtocolError('Protocol error: incomplete reply', buffer.length - decoder.pendingBytes);
  }
  return replies;
}
