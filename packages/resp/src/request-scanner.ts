import { CR, findCrlf, LF, parseInteger } from './bytes';
import { type RespLimits, resolveLimits } from './limits';
import { RespProtocolError } from './protocol-error';

const ASTERISK = 0x2a;
const DOLLAR = 0x24;

/**
 * Finds request boundaries and argument offsets without copying — the proxy's hot path.
 *
 * `scan(buffer, start, end)` returns the end (exclusive) of one complete request starting at `start`, or -1
 * when more bytes are needed. After a complete scan, `argumentStarts[i]`/`argumentEnds[i]` locate argument
 * `i` in `buffer` (reused arrays: read them before the next scan). `argumentCount` 0 means an empty request
 * (`*0`, `*-1`, a blank inline line) that Redis skips.
 *
 * Multibulk scanning resumes where it stopped when called again with the same buffer and start, so a large
 * request arriving in many reads is not rescanned from the beginning. Inline requests (`PING\r\n`) are split
 * like Redis's sdssplitargs; quoted arguments are unescaped in place inside [start, end) — the request is
 * complete and about to be consumed, so nobody reads those raw bytes again.
 */
export class RequestScanner {
  argumentCount = 0;
  argumentStarts = new Int32Array(16);
  argumentEnds = new Int32Array(16);
  isInline = false;
  private readonly limits: RespLimits;

  // Resume state of an incomplete multibulk request.
  private pendingBuffer: Uint8Array | undefined;
  private pendingStart = -1;
  private pendingPosition = 0;
  private pendingIndex = 0;
  private pendingCount = 0;

  constructor(limits?: Partial<RespLimits>) {
    this.limits = resolveLimits(limits);
  }

  scan(buffer: Uint8Array, start: number, end: number): number {
    if (start >= end) return -1;
    if (buffer[start] === ASTERISK) return this.scanMultibulk(buffer, start, end);
    this.pendingBuffer = undefined;
    return this.scanInline(buffer, start, end);
  }

  private scanMultibulk(buffer: Uint8Array, start: number, end: number): number {
    this.isInline = false;
    let position: number;
    let index: number;
    let count: number;
    if (this.pendingBuffer === buffer && this.pendingStart === start) {
      position = this.pendingPosition;
      index = this.pendingIndex;
      count = this.pendingCount;
    } else {
      const lineEnd = findCrlf(buffer, start + 1, end);
      if (lineEnd < 0) {
        if (end - start > this.limits.maxInlineLength) {
          throw new RespProtocolError('Protocol error: too big mbulk count string', start);
        }
        return -1;
      }
      count = parseInteger(buffer, start + 1, lineEnd);
      if (Number.isNaN(count) || count > this.limits.maxMultibulkLength) {
        throw new RespProtocolError('Protocol error: invalid multibulk length', start);
      }
      position = lineEnd + 2;
      index = 0;
      if (count <= 0) {
        this.argumentCount = 0;
        return position;
      }
      this.ensureCapacity(count);
    }
    const starts = this.argumentStarts;
    const ends = this.argumentEnds;
    for (; index < count; index++) {
      if (position >= end) return this.suspend(buffer, start, position, index, count);
      if (buffer[position] !== DOLLAR) {
        throw new RespProtocolError(
          `Protocol error: expected '$', got '${String.fromCharCode(buffer[position] as number)}'`,
          position,
        );
      }
      const lineEnd = findCrlf(buffer, position + 1, end);
      if (lineEnd < 0) {
        if (end - position > this.limits.maxInlineLength) {
          throw new RespProtocolError('Protocol error: too big bulk count string', position);
        }
        return this.suspend(buffer, start, position, index, count);
      }
      const length = parseInteger(buffer, position + 1, lineEnd);
      if (Number.isNaN(length) || length < 0 || length > this.limits.maxBulkLength) {
        throw new RespProtocolError('Protocol error: invalid bulk length', position);
      }
      const dataStart = lineEnd + 2;
      const dataEnd = dataStart + length;
      if (dataEnd + 2 > end) return this.suspend(buffer, start, position, index, count);
      if (buffer[dataEnd] !== CR || buffer[dataEnd + 1] !== LF) {
        throw new RespProtocolError('Protocol error: expected CRLF after bulk string', dataEnd);
      }
      starts[index] = dataStart;
      ends[index] = dataEnd;
      position = dataEnd + 2;
    }
    this.pendingBuffer = undefined;
    this.argumentCount = count;
    return position;
  }

  private suspend(buffer: Uint8Array, start: number, position: number, index: number, count: number): number {
    this.pendingBuffer = buffer;
    this.pendingStart = start;
    this.pendingPosition = position;
    this.pendingIndex = index;
    this.pendingCount = count;
    return -1;
  }

  private scanInline(buffer: Uint8Array, start: number, end: number): number {
    this.isInline = true;
    const newline = buffer.indexOf(LF, start);
    if (newline < 0 || newline >= end) {
      if (end - start > this.limits.maxInlineLength) {
        throw new RespProtocolError('Protocol error: too big inline request', start);
      }
      return -1;
    }
    if (newline - start > this.limits.maxInlineLength) {
      throw new RespProtocolError('Protocol error: too big inline request', start);
    }
    const lineEnd = newline > start && buffer[newline - 1] === CR ? newline - 1 : newline;
    this.splitInline(buffer, start, lineEnd);
    return newline + 1;
  }

  /** sdssplitargs: whitespace-separated words, "double quotes" with escapes, 'single quotes'. */
  private splitInline(buffer: Uint8Array, start: number, end: number): void {
    let count = 0;
    let position = start;
    for (;;) {
      while (position < end && isSpace(buffer[position] as number)) position++;
      if (position >= end) break;
      this.ensureCapacity(count + 1);
      const quote = buffer[position];
      if (quote === 0x22 || quote === 0x27) {
        const result = unquoteInPlace(buffer, position, end, quote);
        this.argumentStarts[count] = position;
        this.argumentEnds[count] = result.writeEnd;
        position = result.readEnd;
      } else {
        const wordStart = position;
        while (position < end && !isSpace(buffer[position] as number)) position++;
        this.argumentStarts[count] = wordStart;
        this.argumentEnds[count] = position;
      }
      count++;
    }
    this.argumentCount = count;
  }

  private ensureCapacity(count: number): void {
    if (count <= this.argumentStarts.length) return;
    let size = this.argumentStarts.length;
    while (size < count) size *= 2;
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    starts.set(this.argumentStarts);
    ends.set(this.argumentEnds);
    this.argumentStarts = starts;
    this.argumentEnds = ends;
  }
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0b || byte === 0x0c;
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}

const unquoteResult = { readEnd: 0, writeEnd: 0 };

/** Unescapes a quoted word starting at `quoteAt`; the unescaped bytes are written from `quoteAt` on. */
function unquoteInPlace(
  buffer: Uint8Array,
  quoteAt: number,
  end: number,
  quote: number,
): typeof unquoteResult {
  let read = quoteAt + 1;
  let write = quoteAt;
  const doubleQuoted = quote === 0x22;
  for (;;) {
    if (read >= end) throw new RespProtocolError('Protocol error: unbalanced quotes in request', quoteAt);
    const byte = buffer[read] as number;
    if (byte === quote) {
      read++;
      // A closing quote must be followed by a space or the end of the line.
      if (read < end && !isSpace(buffer[read] as number)) {
        throw new RespProtocolError('Protocol error: unbalanced quotes in request', read);
      }
      unquoteResult.readEnd = read;
      unquoteResult.writeEnd = write;
      return unquoteResult;
    }
    if (byte === 0x5c && read + 1 < end) {
      const next = buffer[read + 1] as number;
      if (doubleQuoted) {
        if (next === 0x78 && read + 3 < end) {
          const high = hexValue(buffer[read + 2] as number);
          const low = hexValue(buffer[read + 3] as number);
          if (high >= 0 && low >= 0) {
            buffer[write++] = high * 16 + low;
            read += 4;
            continue;
          }
        }
        buffer[write++] = escapeValue(next);
        read += 2;
        continue;
      }
      if (next === 0x27) {
        buffer[write++] = 0x27;
        read += 2;
        continue;
      }
    }
    buffer[write++] = byte;
    read++;
  }
}

function escapeValue(byte: number): number {
  switch (byte) {
    case 0x6e:
      return 0x0a; // \n
    case 0x72:
      return 0x0d; // \r
    case 0x74:
      return 0x09; // \t
    case 0x62:
      return 0x08; // \b
    case 0x61:
      return 0x07; // \a
    default:
      return byte;
  }
}
