import { createServer, type Server, type Socket } from 'node:net';
import {
  COPY_PAYLOAD_BYTES,
  DATA_OPCODE,
  DATA_STATUS,
  type DataHeader,
  HeaderAssembler,
  HeaderSlab,
  writeDataHeader,
} from './data-protocol';
import type { SegmentBackend } from './segment-backend';

export interface DataServerOptions {
  /** Segments by medium (MEDIUM.HBM / MEDIUM.DRAM). */
  segments: ReadonlyMap<number, SegmentBackend>;
  /** Largest slice one request may move; a bigger announced length closes the connection. */
  maxTransferBytes?: number;
  onError?: (error: unknown) => void;
}

export const DEFAULT_DATA_SERVER_OPTIONS = { maxTransferBytes: 64 * 1024 * 1024 } as const;

/**
 * Serves READ and WRITE of byte ranges of this rank's segments. WRITE payloads are copied from the socket
 * chunks straight into the segment (no gathering); READ replies are a header plus a view of the segment
 * (file-backed segments: one read into a fresh buffer). Every range is checked against its segment.
 */
export class DataServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly slab = new HeaderSlab();
  private readonly maxTransferBytes: number;
  private inFlight = 0;
  private draining = false;
  // HA fencing: the write epoch of this service's current mount (see data-protocol.ts).
  private fenceView = 0;
  private drained: (() => void) | undefined;

  constructor(private readonly options: DataServerOptions) {
    this.maxTransferBytes = options.maxTransferBytes ?? DEFAULT_DATA_SERVER_OPTIONS.maxTransferBytes;
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  async listen(port: number, host: string): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address();
    return { host, port: typeof address === 'object' && address ? address.port : port };
  }

  /**
   * Refuses from now on every WRITE and COPY stamped below `view` (never lowers it). Called with the write
   * epoch reserved before a (re-)mount is sent, so no range handed out under that mount can be overwritten
   * by a write allocated before it.
   */
  raiseView(view: number): void {
    if (Number.isSafeInteger(view) && view > this.fenceView) this.fenceView = view;
  }

  get view(): number {
    return this.fenceView;
  }

  /** Stops taking connections and waits until every request already started has been answered. */
  async drain(): Promise<void> {
    this.draining = true;
    this.server.close();
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
  }

  async close(): Promise<void> {
    this.draining = true;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const assembler = new HeaderAssembler();
    // A WRITE being received: where its payload goes and how many bytes are still to come.
    let target: SegmentBackend | undefined;
    let targetOffset = 0;
    let remaining = 0;
    let pendingStatus: number = DATA_STATUS.OK;
    let pendingId = 0;
    let pendingOffset = 0;
    let pendingLength = 0;
    let pendingMedium = 0;
    let pendingView = 0;
    // A COPY's 16-byte destination, gathered like a tiny WRITE.
    const copyTarget = Buffer.alloc(COPY_PAYLOAD_BYTES);
    let copyFill = -1;
    let copySource: DataHeader | undefined;

    const onData = (chunk: Buffer) => {
      socket.cork();
      try {
        let position = 0;
        while (position < chunk.length) {
          if (copyFill >= 0) {
            const count = Math.min(COPY_PAYLOAD_BYTES - copyFill, chunk.length - position);
            chunk.copy(copyTarget, copyFill, position, position + count);
            copyFill += count;
            position += count;
            if (copyFill === COPY_PAYLOAD_BYTES) {
              copyFill = -1;
              this.serveCopy(socket, copySource as DataHeader, copyTarget);
            }
            continue;
          }
          if (remaining > 0) {
            const count = Math.min(remaining, chunk.length - position);
            target?.write(targetOffset, chunk.subarray(position, position + count));
            targetOffset += count;
            position += count;
            remaining -= count;
            if (remaining === 0)
              this.finishWrite(
                socket,
                pendingMedium,
                pendingStatus,
                pendingId,
                pendingOffset,
                pendingLength,
                pendingView,
              );
            continue;
          }
          position = assembler.take(chunk, position);
          if (!assembler.complete) break;
          const header = assembler.header;
          assembler.reset();
          if (header.length > this.maxTransferBytes && header.opcode !== DATA_OPCODE.COPY) {
            this.options.onError?.(
              new RangeError(`data request of ${header.length} bytes over maxTransferBytes`),
            );
            this.reply(socket, header, DATA_STATUS.TOO_LARGE);
            socket.end();
            socket.destroySoon();
            return;
          }
          this.inFlight++;
          if (header.opcode === DATA_OPCODE.WRITE) {
            const status = header.view < this.fenceView ? DATA_STATUS.STALE_VIEW : this.check(header);
            target = status === DATA_STATUS.OK ? this.options.segments.get(header.medium) : undefined;
            targetOffset = header.offset;
            remaining = header.length;
            pendingStatus = status;
            pendingId = header.requestId;
            pendingOffset = header.offset;
            pendingLength = header.length;
            pendingMedium = header.medium;
            pendingView = status === DATA_STATUS.STALE_VIEW ? this.fenceView : header.view;
            if (remaining === 0)
              this.finishWrite(socket, pendingMedium, status, pendingId, pendingOffset, 0, pendingView);
          } else if (header.opcode === DATA_OPCODE.COPY) {
            copySource = { ...header };
            copyFill = 0;
          } else if (header.opcode === DATA_OPCODE.READ) {
            this.serveRead(socket, header);
          } else {
            this.reply(socket, header, DATA_STATUS.BAD_OPCODE);
            this.settled();
          }
        }
      } catch (error) {
        this.options.onError?.(error);
        socket.destroy();
      } finally {
        socket.uncork();
      }
      if (socket.writableNeedDrain) {
        socket.pause();
        socket.once('drain', () => socket.resume());
      }
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      // A WRITE cut off mid-payload is over: it must not hold up a drain.
      if (remaining > 0) {
        remaining = 0;
        this.settled();
      }
    });
  }

  private check(header: DataHeader): number {
    if (this.draining) return DATA_STATUS.DRAINING;
    const segment = this.options.segments.get(header.medium);
    if (!segment) return DATA_STATUS.NO_SEGMENT;
    if (header.offset + header.length > segment.capacity) return DATA_STATUS.OUT_OF_BOUNDS;
    return DATA_STATUS.OK;
  }

  private serveRead(socket: Socket, header: DataHeader): void {
    const status = this.check(header);
    if (status !== DATA_STATUS.OK) {
      this.reply(socket, header, status);
      this.settled();
      return;
    }
    const segment = this.options.segments.get(header.medium) as SegmentBackend;
    let payload = segment.view(header.offset, header.length);
    if (!payload) {
      payload = Buffer.allocUnsafe(header.length);
      segment.read(header.offset, header.length, payload, 0);
    }
    this.reply(socket, header, DATA_STATUS.OK);
    socket.write(payload);
    this.settled();
  }

  /** Copies a range between two of this service's segments (both bounds-checked). */
  private serveCopy(socket: Socket, source: DataHeader, destination: Buffer): void {
    const targetMedium = destination[0] as number;
    const targetOffset = destination.readUInt32LE(8) + destination.readUInt32LE(12) * 2 ** 32;
    let status = source.view < this.fenceView ? DATA_STATUS.STALE_VIEW : this.check(source);
    if (status === DATA_STATUS.OK) {
      status = this.check({ ...source, medium: targetMedium, offset: targetOffset });
    }
    if (status === DATA_STATUS.OK) {
      const from = this.options.segments.get(source.medium) as SegmentBackend;
      const to = this.options.segments.get(targetMedium) as SegmentBackend;
      let bytes = from.view(source.offset, source.length);
      if (!bytes) {
        bytes = Buffer.allocUnsafe(source.length);
        from.read(source.offset, source.length, bytes, 0);
      }
      to.write(targetOffset, bytes);
    }
    this.reply(socket, source, status);
    this.settled();
  }

  private finishWrite(
    socket: Socket,
    medium: number,
    status: number,
    requestId: number,
    offset: number,
    length: number,
    view: number,
  ): void {
    const header = this.slab.next();
    writeDataHeader(header, 0, DATA_OPCODE.WRITE, medium, status, requestId, offset, length, view);
    socket.write(header);
    this.settled();
  }

  private reply(socket: Socket, request: DataHeader, status: number): void {
    const header = this.slab.next();
    writeDataHeader(
      header,
      0,
      request.opcode,
      request.medium,
      status,
      request.requestId,
      request.offset,
      request.length,
      status === DATA_STATUS.STALE_VIEW ? this.fenceView : request.view,
    );
    socket.write(header);
  }

  private settled(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.drained) {
      const resolve = this.drained;
      this.drained = undefined;
      resolve();
    }
  }
}
