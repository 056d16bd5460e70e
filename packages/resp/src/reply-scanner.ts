import { CR, findCrlf, LF, parseInteger } from './bytes';
import { type RespLimits, resolveLimits } from './limits';
import { RespProtocolError } from './protocol-error';
import { RESP_TYPE } from './resp-type';

const QUESTION_MARK = 0x3f;
const STREAMED = -1;
const COLON = 0x3a;

/** `-?[0-9]+` — what BigInt accepts from a RESP3 big number. */
function isIntegerText(buffer: Uint8Array, start: number, end: number): boolean {
  const first = buffer[start] === 0x2d ? start + 1 : start;
  if (first >= end) return false;
  for (let position = first; position < end; position++) {
    const byte = buffer[position] as number;
    if (byte < 0x30 || byte > 0x39) return false;
  }
  return true;
}

/**
 * Finds the end of one complete reply of any RESP2/RESP3 type — nested aggregates, attributes, streamed
 * strings and aggregates — without decoding it. `scan(buffer, start, end)` returns the end (exclusive) or -1.
 *
 * Resumes where it stopped when called again with the same buffer and start (the bytes already scanned must
 * not change), so a large nested reply arriving in many reads costs O(bytes) in total, not O(bytes²).
 */
export class ReplyScanner {
  /** Type byte of the last complete reply (attributes before it are skipped). */
  lastType = 0;
  /** Value of the last complete reply when it was an integer (`:`). */
  integerValue = 0;
  private readonly limits: RespLimits;
  // Stack of aggregates still open: how many elements each still needs (STREAMED: until `.`).
  private remaining = new Int32Array(8);
  private depth = 0;
  private inStreamedString = false;
  private pendingBuffer: Uint8Array | undefined;
  private pendingStart = -1;
  private pendingPosition = 0;

  constructor(limits?: Partial<RespLimits>) {
    this.limits = resolveLimits(limits);
  }

  get isError(): boolean {
    return this.lastType === RESP_TYPE.error || this.lastType === RESP_TYPE.bulkError;
  }

  /** Forgets a suspended scan (call when the caller drops the bytes it was scanning). */
  reset(): void {
    this.pendingBuffer = undefined;
  }

  scan(buffer: Uint8Array, start: number, end: number): number {
    let position: number;
    if (this.pendingBuffer === buffer && this.pendingStart === start) {
      position = this.pendingPosition;
    } else {
      position = start;
      this.depth = 0;
      this.remaining[0] = 1;
      this.inStreamedString = false;
    }
    for (;;) {
      if (this.inStreamedString) {
        const next = this.scanStringChunk(buffer, position, end);
        if (next < 0) return this.suspend(buffer, start, position);
        position = next;
        continue;
      }
      // Close every aggregate that has all its elements.
      while (this.remaining[this.depth] === 0) {
        if (this.depth === 0) {
          this.pendingBuffer = undefined;
          return position;
        }
        this.depth--;
      }
      if (position >= end) return this.suspend(buffer, start, position);
      const type = buffer[position] as number;
      if (type === RESP_TYPE.streamedEnd && this.remaining[this.depth] === STREAMED) {
        if (position + 3 > end) return this.suspend(buffer, start, position);
        if (buffer[position + 1] !== CR || buffer[position + 2] !== LF) {
          throw new RespProtocolError('Protocol error: expected CRLF after streamed aggregate end', position);
        }
        position += 3;
        this.remaining[this.depth] = 0;
        continue;
      }
      const lineEnd = findCrlf(buffer, position + 1, end);
      if (lineEnd < 0) {
        if (end - position > this.limits.maxInlineLength) {
          throw new RespProtocolError('Protocol error: too big reply line', position);
        }
        return this.suspend(buffer, start, position);
      }
      const next = this.scanElement(buffer, position, lineEnd, end, type);
      if (next < 0) return this.suspend(buffer, start, position);
      position = next;
    }
  }

  /** One element whose first line is complete; returns the position after it or -1 for more bytes. */
  private scanElement(
    buffer: Uint8Array,
    position: number,
    lineEnd: number,
    end: number,
    type: number,
  ): number {
    const isTopLevelValue = this.depth === 0 && type !== RESP_TYPE.attribute;
    switch (type) {
      case RESP_TYPE.simpleString:
      case RESP_TYPE.error:
      case RESP_TYPE.double:
        break;
      case RESP_TYPE.bigNumber:
        if (!isIntegerText(buffer, position + 1, lineEnd)) {
          throw new RespProtocolError('Protocol error: invalid big number', position);
        }
        break;
      case RESP_TYPE.integer: {
        const value = parseInteger(buffer, position + 1, lineEnd);
        if (Number.isNaN(value)) throw new RespProtocolError('Protocol error: invalid integer', position);
        if (isTopLevelValue) this.integerValue = value;
        break;
      }
      case RESP_TYPE.null:
        if (lineEnd !== position + 1) throw new RespProtocolError('Protocol error: invalid null', position);
        break;
      case RESP_TYPE.boolean: {
        const value = buffer[position + 1];
        if (lineEnd !== position + 2 || (value !== 0x74 && value !== 0x66)) {
          throw new RespProtocolError('Protocol error: invalid boolean', position);
        }
        break;
      }
      case RESP_TYPE.bulkString:
      case RESP_TYPE.bulkError:
      case RESP_TYPE.verbatimString: {
        if (
          type === RESP_TYPE.bulkString &&
          lineEnd === position + 2 &&
          buffer[position + 1] === QUESTION_MARK
        ) {
          this.countElement();
          this.inStreamedString = true;
          if (isTopLevelValue) this.lastType = type;
          return lineEnd + 2;
        }
        const length = parseInteger(buffer, position + 1, lineEnd);
        if (length === -1 && type === RESP_TYPE.bulkString) break;
        if (Number.isNaN(length) || length < 0 || length > this.limits.maxBulkLength) {
          throw new RespProtocolError('Protocol error: invalid bulk length', position);
        }
        const dataEnd = lineEnd + 2 + length;
        if (dataEnd + 2 > end) return -1;
        if (buffer[dataEnd] !== CR || buffer[dataEnd + 1] !== LF) {
          throw new RespProtocolError('Protocol error: expected CRLF after bulk string', dataEnd);
        }
        if (type === RESP_TYPE.verbatimString && (length < 4 || buffer[lineEnd + 5] !== COLON)) {
          throw new RespProtocolError('Protocol error: invalid verbatim string', position);
        }
        this.countElement();
        if (isTopLevelValue) this.lastType = type;
        return dataEnd + 2;
      }
      case RESP_TYPE.array:
      case RESP_TYPE.map:
      case RESP_TYPE.set:
      case RESP_TYPE.push:
      case RESP_TYPE.attribute:
        this.openAggregate(buffer, position, lineEnd, type);
        if (isTopLevelValue) this.lastType = type;
        return lineEnd + 2;
      default:
        throw new RespProtocolError(
          `Protocol error: invalid reply type byte '${String.fromCharCode(type)}'`,
          position,
        );
    }
    this.countElement();
    if (isTopLevelValue) this.lastType = type;
    return lineEnd + 2;
  }

  private openAggregate(buffer: Uint8Array, position: number, lineEnd: number, type: number): void {
    const isAttribute = type === RESP_TYPE.attribute;
    const streamed = lineEnd === position + 2 && buffer[position + 1] === QUESTION_MARK && !isAttribute;
    let elements = STREAMED;
    if (!streamed) {
      const count = parseInteger(buffer, position + 1, lineEnd);
      if (count === -1 && type === RESP_TYPE.array) {
        this.countElement();
        return;
      }
      if (Number.isNaN(count) || count < 0 || count > this.limits.maxMultibulkLength) {
        throw new RespProtocolError('Protocol error: invalid multibulk length', position);
      }
      elements = type === RESP_TYPE.map || isAttribute ? count * 2 : count;
    }
    // An attribute annotates the element after it, which is what the parent counts.
    if (!isAttribute) this.countElement();
    if (elements === 0) return;
    if (this.depth + 1 > this.limits.maxNestingDepth) {
      throw new RespProtocolError('Protocol error: too deeply nested reply', position);
    }
    this.depth++;
    if (this.depth >= this.remaining.length) this.growStack();
    this.remaining[this.depth] = elements;
  }

  private scanStringChunk(buffer: Uint8Array, position: number, end: number): number {
    if (position >= end) return -1;
    if (buffer[position] !== RESP_TYPE.streamedChunk) {
      throw new RespProtocolError('Protocol error: expected streamed string chunk', position);
    }
    const lineEnd = findCrlf(buffer, position + 1, end);
    if (lineEnd < 0) {
      if (end - position > this.limits.maxInlineLength) {
        throw new RespProtocolError('Protocol error: too big reply line', position);
      }
      return -1;
    }
    const length = parseInteger(buffer, position + 1, lineEnd);
    if (Number.isNaN(length) || length < 0 || length > this.limits.maxBulkLength) {
      throw new RespProtocolError('Protocol error: invalid bulk length', position);
    }
    if (length === 0) {
      this.inStreamedString = false;
      return lineEnd + 2;
    }
    const dataEnd = lineEnd + 2 + length;
    if (dataEnd + 2 > end) return -1;
    if (buffer[dataEnd] !== CR || buffer[dataEnd + 1] !== LF) {
      throw new RespProtocolError('Protocol error: expected CRLF after bulk string', dataEnd);
    }
    return dataEnd + 2;
  }

  private countElement(): void {
    const remaining = this.remaining[this.depth] as number;
    if (remaining > 0) this.remaining[this.depth] = remaining - 1;
  }

  private growStack(): void {
    const remaining = new Int32Array(this.remaining.length * 2);
    remaining.set(this.remaining);
    this.remaining = remaining;
  }

  private suspend(buffer: Uint8Array, start: number, position: number): number {
    this.pendingBuffer = buffer;
    this.pendingStart = start;
    this.pendingPosition = position;
    return -1;
  }
}
