import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { SpoolQueue } from './spool-queue';

/*
 * Why synchronous fs: push must never await (the source is read at wire speed) and order must hold
 * across memory and disk. Async writes would need their own queue of pending buffers (unbounded memory
 * again) and read-after-write bookkeeping. A 1 MiB writeSync lands in the page cache in well under a
 * millisecond, and records read back soon after writing come from the page cache too, so the event loop
 * stalls only briefly and only while spilling.
 */

/** Writes and reads go to disk in blocks of this size: one write buffer and one read buffer. */
const BLOCK_BYTES = 1024 * 1024;
/** Each record on disk is a u32 LE length followed by the encoded item. */
const RECORD_HEADER_BYTES = 4;
const NO_BUFFER = Buffer.alloc(0);

export interface SpoolCodec<T> {
  /** Bytes the item accounts for in memory (e.g. its data length + a small constant); must not change. */
  size(item: T): number;
  /** Serialises the item for the disk file. */
  encode(item: T): Buffer;
  /** Gets a buffer of its own (not a view into a reused one), so the item may keep slices of it. */
  decode(bytes: Buffer): T;
}

export interface SpillingSpoolOptions {
  /** Directory for spill files (created on first spill; one sub-directory per spool instance, unique name). */
  directory: string;
  /** Items beyond this many bytes in memory go to disk. */
  memoryBytes: number;
  /** Disk use (spill files on disk, read or not) above this throws SpoolFullError from push (-1 = unlimited). */
  maxDiskBytes: number;
  /** Size at which a spill file is closed and a new one started; fully read files are deleted at once. */
  segmentBytes: number;
}

export const DEFAULT_SPILLING_SPOOL_OPTIONS: Omit<SpillingSpoolOptions, 'directory'> = {
  memoryBytes: 256 * 1024 * 1024,
  maxDiskBytes: -1,
  segmentBytes: 64 * 1024 * 1024,
};

/** Thrown by push when spilling the item would take disk use past maxDiskBytes; the item is not queued. */
export class SpoolFullError extends Error {
  readonly code = 'GUNYU_ERR_SPOOL_FULL';

  constructor(message: string) {
    super(message);
    this.name = 'SpoolFullError';
  }
}

interface SpillSegment {
  readonly path: string;
  /** Bytes appended, including those still in the write buffer. */
  bytes: number;
  /** Bytes already written to the file. */
  flushedBytes: number;
}

/**
 * FIFO that keeps items in memory up to a byte budget and spills the rest, in order, to segment files.
 * Once spilling starts every push goes to disk until the disk backlog is read back, so order holds.
 *
 * Memory stays near memoryBytes + 2 MiB (items + one write block + one read block). The exception is a
 * record larger than a block: it is written straight from its encoded buffer and read into a buffer of
 * its own, so that one record is briefly held on top of the bound.
 */
export class SpillingSpool<T> {
  private readonly codec: SpoolCodec<T>;
  private readonly options: SpillingSpoolOptions;
  private memory = new SpoolQueue<T>();
  private itemBytes = 0;
  private spilling = false;
  private closed = false;

  private spillDirectory: string | undefined;
  private nextSegmentNumber = 0;
  /** Oldest first: segments[0] is being read, the last one may be being written. */
  private segments: SpillSegment[] = [];
  private diskItems = 0;
  private unreadBytes = 0;
  private fileBytes = 0;

  private writeSegment: SpillSegment | undefined;
  private writeFd = -1;
  private writeBuffer = NO_BUFFER;
  private writeUsed = 0;

  private readFd = -1;
  private readBuffer = NO_BUFFER;
  private readStart = 0;
  private readEnd = 0;
  /** File offset of readEnd in segments[0]. */
  private readFileOffset = 0;

  constructor(codec: SpoolCodec<T>, options: SpillingSpoolOptions) {
    this.codec = codec;
    this.options = options;
  }

  get length(): number {
    return this.memory.length + this.diskItems;
  }

  get memoryBytes(): number {
    return this.itemBytes + this.writeBuffer.length + this.readBuffer.length;
  }

  get diskBytes(): number {
    return this.unreadBytes;
  }

  push(item: T): void {
    if (this.closed) throw new Error('SpillingSpool: push after close');
    if (!this.spilling) {
      const size = this.codec.size(item);
      if (this.itemBytes + size <= this.options.memoryBytes) {
        this.memory.push(item);
        this.itemBytes += size;
        return;
      }
    }
    const bytes = this.codec.encode(item);
    const recordBytes = RECORD_HEADER_BYTES + bytes.length;
    const { maxDiskBytes } = this.options;
    if (maxDiskBytes >= 0 && this.fileBytes + recordBytes > maxDiskBytes) {
      throw new SpoolFullError(
        `spool full: ${this.fileBytes} bytes on disk + ${recordBytes} would exceed maxDiskBytes ${maxDiskBytes}`,
      );
    }
    this.spilling = true;
    this.appendRecord(bytes);
    this.diskItems++;
    this.unreadBytes += recordBytes;
  }

  shift(): T | undefined {
    if (this.memory.length > 0) {
      const item = this.memory.shift() as T;
      this.itemBytes -= this.codec.size(item);
      return item;
    }
    if (this.diskItems === 0) return undefined;
    const bytes = this.readRecord();
    this.diskItems--;
    this.unreadBytes -= RECORD_HEADER_BYTES + bytes.length;
    if (this.diskItems === 0) this.endSpill();
    return this.codec.decode(bytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endSpill();
    if (this.spillDirectory !== undefined) rmSync(this.spillDirectory, { recursive: true, force: true });
    this.spillDirectory = undefined;
    this.memory = new SpoolQueue<T>();
    this.itemBytes = 0;
    this.diskItems = 0;
  }

  private appendRecord(bytes: Buffer): void {
    const segment = this.writeSegment ?? this.openWriteSegment();
    const recordBytes = RECORD_HEADER_BYTES + bytes.length;
    if (this.writeUsed + recordBytes > this.writeBuffer.length) this.flushWrites();
    this.writeBuffer.writeUInt32LE(bytes.length, this.writeUsed);
    this.writeUsed += RECORD_HEADER_BYTES;
    if (recordBytes <= this.writeBuffer.length) {
      bytes.copy(this.writeBuffer, this.writeUsed);
      this.writeUsed += bytes.length;
    } else {
      // Larger than a block: write it through from its own buffer rather than growing ours.
      this.flushWrites();
      writeFully(this.writeFd, bytes, segment.flushedBytes);
      segment.flushedBytes += bytes.length;
    }
    segment.bytes += recordBytes;
    this.fileBytes += recordBytes;
    if (segment.bytes >= this.options.segmentBytes) this.closeWriteSegment();
  }

  private openWriteSegment(): SpillSegment {
    if (this.spillDirectory === undefined) {
      mkdirSync(this.options.directory, { recursive: true });
      this.spillDirectory = mkdtempSync(join(this.options.directory, 'spool-'));
    }
    const name = `segment-${String(this.nextSegmentNumber++).padStart(8, '0')}.spill`;
    const segment: SpillSegment = { path: join(this.spillDirectory, name), bytes: 0, flushedBytes: 0 };
    this.writeFd = openSync(segment.path, 'wx');
    this.segments.push(segment);
    this.writeSegment = segment;
    if (this.writeBuffer.length === 0) this.writeBuffer = Buffer.allocUnsafe(BLOCK_BYTES);
    return segment;
  }

  private closeWriteSegment(): void {
    this.flushWrites();
    closeSync(this.writeFd);
    this.writeFd = -1;
    this.writeSegment = undefined;
  }

  private flushWrites(): void {
    const segment = this.writeSegment;
    if (this.writeUsed === 0 || segment === undefined) return;
    writeFully(this.writeFd, this.writeBuffer.subarray(0, this.writeUsed), segment.flushedBytes);
    segment.flushedBytes += this.writeUsed;
    this.writeUsed = 0;
  }

  /** Returns the next record's bytes in a buffer of their own. */
  private readRecord(): Buffer {
    const segment = this.openReadSegment();
    this.fillReadBuffer(segment, RECORD_HEADER_BYTES);
    const recordOffset = this.readFileOffset - (this.readEnd - this.readStart);
    const length = this.readBuffer.readUInt32LE(this.readStart);
    if (recordOffset + RECORD_HEADER_BYTES + length > segment.bytes) {
      throw new Error(
        `spill file ${segment.path} is corrupted at offset ${recordOffset}: record length ${length} runs past the end of the file (${segment.bytes} bytes)`,
      );
    }
    this.readStart += RECORD_HEADER_BYTES;
    let record: Buffer;
    if (RECORD_HEADER_BYTES + length <= this.readBuffer.length) {
      this.fillReadBuffer(segment, length);
      // A copy, because the read buffer is reused and decode may keep slices.
      record = Buffer.from(this.readBuffer.subarray(this.readStart, this.readStart + length));
      this.readStart += length;
    } else {
      record = Buffer.allocUnsafe(length);
      const buffered = this.readBuffer.copy(record, 0, this.readStart, this.readEnd);
      this.readStart = 0;
      this.readEnd = 0;
      this.readFromFile(segment, record, buffered, length - buffered);
    }
    if (
      this.readStart === this.readEnd &&
      this.readFileOffset === segment.bytes &&
      segment !== this.writeSegment
    ) {
      this.finishReadSegment(segment);
    }
    return record;
  }

  private openReadSegment(): SpillSegment {
    const segment = this.segments[0];
    if (segment === undefined) throw new Error('SpillingSpool: disk backlog without a segment');
    if (this.readFd < 0) {
      this.readFd = openSync(segment.path, 'r');
      this.readFileOffset = 0;
      this.readStart = 0;
      this.readEnd = 0;
      if (this.readBuffer.length === 0) this.readBuffer = Buffer.allocUnsafe(BLOCK_BYTES);
    }
    return segment;
  }

  /** Makes at least `needed` (≤ one block) bytes available at readStart, reading a block at a time. */
  private fillReadBuffer(segment: SpillSegment, needed: number): void {
    while (this.readEnd - this.readStart < needed) {
      if (this.readStart + needed > this.readBuffer.length) {
        this.readBuffer.copyWithin(0, this.readStart, this.readEnd);
        this.readEnd -= this.readStart;
        this.readStart = 0;
      }
      const wanted = Math.min(this.readBuffer.length - this.readEnd, segment.bytes - this.readFileOffset);
      if (wanted <= 0) {
        throw new Error(
          `spill file ${segment.path} is corrupted at offset ${this.readFileOffset}: a record runs past the end of the file`,
        );
      }
      this.readFromFile(segment, this.readBuffer, this.readEnd, wanted);
      this.readEnd += wanted;
    }
  }

  private readFromFile(segment: SpillSegment, target: Buffer, offset: number, length: number): void {
    // Bytes still in the write buffer must reach the file before they can be read back.
    if (segment === this.writeSegment && this.readFileOffset + length > segment.flushedBytes)
      this.flushWrites();
    let done = 0;
    while (done < length) {
      const read = readSync(this.readFd, target, offset + done, length - done, this.readFileOffset);
      if (read === 0) {
        throw new Error(
          `spill file ${segment.path} is truncated at offset ${this.readFileOffset}: expected ${segment.bytes} bytes`,
        );
      }
      done += read;
      this.readFileOffset += read;
    }
  }

  private finishReadSegment(segment: SpillSegment): void {
    closeSync(this.readFd);
    this.readFd = -1;
    unlinkSync(segment.path);
    this.fileBytes -= segment.bytes;
    this.segments.shift();
  }

  /** Back to memory mode: drops the (fully read) segments and the block buffers. */
  private endSpill(): void {
    if (this.readFd >= 0) closeSync(this.readFd);
    if (this.writeFd >= 0) closeSync(this.writeFd);
    for (const segment of this.segments) rmSync(segment.path, { force: true });
    this.readFd = -1;
    this.writeFd = -1;
    this.writeSegment = undefined;
    this.segments = [];
    this.writeBuffer = NO_BUFFER;
    this.writeUsed = 0;
    this.readBuffer = NO_BUFFER;
    this.readStart = 0;
    this.readEnd = 0;
    this.readFileOffset = 0;
    this.unreadBytes = 0;
    this.fileBytes = 0;
    this.spilling = false;
  }
}

function writeFully(fd: number, bytes: Buffer, position: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}
