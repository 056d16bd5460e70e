import { type FileHandle, open } from 'node:fs/promises';

/**
 * A same-host local service's /dev/shm segment file, opened by the client: reads and writes are one
 * positioned kernel copy each, no socket. Opening fails on another host (no such file): the caller then
 * uses the data protocol.
 */
export class SharedMemoryFile {
  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  static async open(path: string): Promise<SharedMemoryFile | undefined> {
    try {
      return new SharedMemoryFile(await open(path, 'r+'), path);
    } catch {
      return undefined;
    }
  }

  async write(offset: number, data: Buffer): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  async read(offset: number, length: number, target: Buffer, targetOffset: number): Promise<void> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(target, targetOffset + done, length - done, offset + done);
      if (bytesRead === 0) throw new RangeError(`short read of ${this.path} at ${offset + done}`);
      done += bytesRead;
    }
  }

  close(): Promise<void> {
    return this.handle.close().catch(() => undefined);
  }
}
