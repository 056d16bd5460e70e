const CRLF_HIGH = 0x0d;
const CRLF_LOW = 0x0a;

export interface RespWriterOptions {
  /** Size of each slab the writer fills; larger writes get a buffer of their own size. */
  slabBytes: number;
}

export const DEFAULT_RESP_WRITER_OPTIONS: Readonly<RespWriterOptions> = Object.freeze({
  slabBytes: 64 * 1024,
});

export type CommandArgument = string | Buffer | Uint8Array | number | bigint;

/**
 * Encodes RESP into a slab without per-call allocation. `take()` returns what was written since the last
 * take as a view of the slab and the writer never touches those bytes again (it moves on, and starts a new
 * slab when this one is full), so the view can go straight to `socket.write` with no copy.
 */
export class RespWriter {
  private readonly slabBytes: number;
  private slab: Buffer;
  private start = 0;
  private offset = 0;

  constructor(options: Partial<RespWriterOptions> = {}) {
    this.slabBytes = options.slabBytes ?? DEFAULT_RESP_WRITER_OPTIONS.slabBytes;
    this.slab = Buffer.allocUnsafe(this.slabBytes);
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.offset - this.start;
  }

  /** The pending bytes; the writer will not overwrite them. */
  take(): Buffer {
    const taken = this.slab.subarray(this.start, this.offset);
    this.start = this.offset;
    return taken;
  }

  /** Drops the pending bytes. */
  reset(): void {
    this.offset = this.start;
  }

  writeCommand(args: readonly CommandArgument[]): this {
    this.writeHeader(0x2a, args.length);
    for (const argument of args) {
      if (typeof argument === 'number' || typeof argument === 'bigint') this.writeBulk(String(argument));
      else this.writeBulk(argument);
    }
    return this;
  }

  writeArrayHeader(count: number): this {
    return this.writeHeader(0x2a, count);
  }

  writeMapHeader(count: number): this {
    return this.writeHeader(0x25, count);
  }

  writeBulk(value: string | Buffer | Uint8Array): this {
    if (typeof value === 'string') {
      const length = Buffer.byteLength(value);
      this.writeHeaderReserving(0x24, length, length + 2);
      this.offset += this.slab.write(value, this.offset, 'utf8');
    } else {
      this.writeHeaderReserving(0x24, value.length, value.length + 2);
      this.slab.set(value, this.offset);
      this.offset += value.length;
    }
    this.slab[this.offset++] = CRLF_HIGH;
    this.slab[this.offset++] = CRLF_LOW;
    return this;
  }

  /** `$<length>\r\n` only: the caller writes (or sends) the body and its CRLF itself. */
  writeBulkHeader(length: number): this {
    return this.writeHeader(0x24, length);
  }

  /** One bulk string made of several pieces, copied once (no concatenation first). */
  writeBulkParts(parts: readonly Uint8Array[]): this {
    let length = 0;
    for (const part of parts) length += part.length;
    this.writeHeaderReserving(0x24, length, length + 2);
    for (const part of parts) {
      this.slab.set(part, this.offset);
      this.offset += part.length;
    }
    this.slab[this.offset++] = CRLF_HIGH;
    this.slab[this.offset++] = CRLF_LOW;
    return this;
  }

  writeNullBulk(): this {
    return this.writeAscii('$-1\r\n');
  }

  writeNullArray(): this {
    return this.writeAscii('*-1\r\n');
  }

  writeSimple(text: string): this {
    return this.writeLine(0x2b, text);
  }

  /** `-<text>`; line breaks in the text become spaces, as Redis does, so a reply cannot be forged. */
  writeError(text: string): this {
    return this.writeLine(0x2d, text);
  }

  writeInteger(value: number | bigint): this {
    return this.writeHeader(0x3a, value);
  }

  /** Copies raw bytes (already RESP) — `buffer[start, end)`. */
  writeRaw(buffer: Uint8Array, start = 0, end = buffer.length): this {
    const length = end - start;
    this.reserve(length);
    this.slab.set(buffer.subarray(start, end), this.offset);
    this.offset += length;
    return this;
  }

  private writeLine(type: number, text: string): this {
    const safe = text.includes('\r') || text.includes('\n') ? text.replace(/[\r\n]+/g, ' ') : text;
    const length = Buffer.byteLength(safe);
    this.reserve(length + 3);
    this.slab[this.offset++] = type;
    this.offset += this.slab.write(safe, this.offset, 'utf8');
    this.slab[this.offset++] = CRLF_HIGH;
    this.slab[this.offset++] = CRLF_LOW;
    return this;
  }

  private writeAscii(text: string): this {
    this.reserve(text.length);
    this.offset += this.slab.write(text, this.offset, 'latin1');
    return this;
  }

  private writeHeader(type: number, value: number | bigint): this {
    return this.writeHeaderReserving(type, value, 0);
  }

  /** `<type><decimal>\r\n`, reserving `extra` more bytes after it so the body fits the same slab. */
  private writeHeaderReserving(type: number, value: number | bigint, extra: number): this {
    this.reserve(24 + extra);
    const slab = this.slab;
    slab[this.offset++] = type;
    if (typeof value === 'number' && value >= 0 && value < 1e15 && Number.isInteger(value)) {
      this.offset = writeDecimal(slab, this.offset, value);
    } else {
      const text = String(value);
      this.reserve(text.length + 2 + extra);
      this.offset += this.slab.write(text, this.offset, 'latin1');
    }
    this.slab[this.offset++] = CRLF_HIGH;
    this.slab[this.offset++] = CRLF_LOW;
    return this;
  }

  /** Makes room for `bytes` more; pending bytes move to a fresh slab, taken ones stay where they are. */
  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.slab.length) return;
    const pending = this.offset - this.start;
    // A batch that outgrows its slab doubles, so building one large batch copies O(bytes) in total.
    const grown = pending >= this.slab.length / 2 ? this.slab.length * 2 : this.slabBytes;
    const next = Buffer.allocUnsafe(Math.max(grown, pending + bytes));
    this.slab.copy(next, 0, this.start, this.offset);
    this.slab = next;
    this.start = 0;
    this.offset = pending;
  }
}

/** Writes a non-negative integer below 1e15 as ASCII digits; returns the new offset. */
function writeDecimal(buffer: Buffer, offset: number, value: number): number {
  if (value < 10) {
    buffer[offset] = 0x30 + value;
    return offset + 1;
  }
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let position = offset + digits - 1;
  for (let rest = value; position >= offset; position--) {
    const next = Math.floor(rest / 10);
    buffer[position] = 0x30 + (rest - next * 10);
    rest = next;
  }
  return offset + digits;
}

const sharedWriter = new RespWriter();

/** A command as one RESP multibulk buffer (a view that stays valid; see RespWriter.take). */
export function encodeCommand(args: readonly CommandArgument[]): Buffer {
  return sharedWriter.writeCommand(args).take();
}
