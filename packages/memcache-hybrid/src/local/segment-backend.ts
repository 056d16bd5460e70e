import { closeSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import type { Medium } from '../core/codes';

/**
 * The memory behind one registered segment of a local service. Host memory here; a device (HBM) backend
 * can implement the same interface later. Offsets are segment-relative and already bounds-checked by the
 * caller.
 */
export interface SegmentBackend {
  readonly medium: Medium;
  readonly capacity: number;
  /** Same-host clients may open this file to read and write without a socket copy. */
  readonly sharedMemoryPath: string | undefined;
  write(offset: number, source: Uint8Array): void;
  read(offset: number, length: number, target: Uint8Array, targetOffset: number): void;
  /** A zero-copy view when the memory lives in this process (undefined for file-backed segments). */
  view(offset: number, length: number): Buffer | undefined;
  close(): void;
}

const TOUCH_CHUNK = 8 * 1024 * 1024;

/** One in-process Buffer, every page written once at mount so no transfer pays the first-touch fault. */
export class HostMemoryBackend implements SegmentBackend {
  readonly sharedMemoryPath = undefined;
  private memory: Buffer;

  constructor(
    readonly medium: Medium,
    readonly capacity: number,
  ) {
    // allocUnsafeSlow + fill: Buffer.alloc's calloc may hand out untouched zero pages.
    this.memory = Buffer.allocUnsafeSlow(capacity);
    for (let at = 0; at < capacity; at += TOUCH_CHUNK)
      this.memory.fill(0, at, Math.min(capacity, at + TOUCH_CHUNK));
  }

  write(offset: number, source: Uint8Array): void {
    this.memory.set(source, offset);
  }

  read(offset: number, length: number, target: Uint8Array, targetOffset: number): void {
    target.set(this.memory.subarray(offset, offset + length), targetOffset);
  }

  view(offset: number, length: number): Buffer {
    return this.memory.subarray(offset, offset + length);
  }

  close(): void {
    this.memory = Buffer.alloc(0);
  }
}

/**
 * A file in /dev/shm (tmpfs: the pages are RAM), filled at mount. The local service reads and writes it
 * with positioned I/O, and a same-host client can open it and do the same — one kernel copy, no socket.
 */
export class SharedMemoryFileBackend implements SegmentBackend {
  private readonly fd: number;

  constructor(
    readonly medium: Medium,
    readonly capacity: number,
    readonly sharedMemoryPath: string,
  ) {
    this.fd = openSync(sharedMemoryPath, 'w+', 0o600);
    try {
      ftruncateSync(this.fd, capacity);
      const zeros = Buffer.alloc(Math.min(TOUCH_CHUNK, capacity));
      for (let at = 0; at < capacity; at += zeros.length) {
        writeSync(this.fd, zeros, 0, Math.min(zeros.length, capacity - at), at);
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  write(offset: number, source: Uint8Array): void {
    let done = 0;
    while (done < source.length)
      done += writeSync(this.fd, source, done, source.length - done, offset + done);
  }

  read(offset: number, length: number, target: Uint8Array, targetOffset: number): void {
    let done = 0;
    while (done < length) {
      const count = readSync(this.fd, target, targetOffset + done, length - done, offset + done);
      if (count === 0) throw new RangeError(`short read of ${this.sharedMemoryPath} at ${offset + done}`);
      done += count;
    }
  }

  view(): undefined {
    return undefined;
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {}
    try {
      unlinkSync(this.sharedMemoryPath);
    } catch {}
  }
}
