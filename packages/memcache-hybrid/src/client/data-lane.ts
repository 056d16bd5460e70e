import { connect, type Socket } from 'node:net';
import { Fifo } from '@kvforge/resp';
import { DomainError } from '@kvforge/runtime';
import {
  DATA_OPCODE,
  DATA_STATUS,
  DATA_STATUS_TEXT,
  HeaderAssembler,
  HeaderSlab,
  writeDataHeader,
} from '../local/data-protocol';

export class DataTransferError extends DomainError<'MMC_ERR_DATA_TRANSFER'> {
  constructor(
    message: string,
    options: { cause?: unknown } = {},
    /** The connection failed (not a refused request): the peer may have died or moved. */
    readonly connectionLost = true,
    /** A refused request: the DATA_STATUS the local service answered (STALE_VIEW: allocated by an old leader). */
    readonly status?: number,
  ) {
    super('MMC_ERR_DATA_TRANSFER', message, options);
  }
}

/** One object-sized transfer made of slices; settles once, when its last slice is answered or any fails. */
export class Transfer {
  private remaining = 0;
  private sealed = false;
  private error: Error | undefined;
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (error: Error) => void;

  /** `onBytes` hears each slice that completed, with its length (progress of big transfers). */
  constructor(private readonly onBytes?: (bytes: number) => void) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  addSlice(): void {
    this.remaining++;
  }

  /** Every slice has been queued: the transfer may now settle. */
  seal(): Promise<void> {
    this.sealed = true;
    this.settleIfDone();
    return this.done;
  }

  sliceDone(error?: Error, bytes = 0): void {
    if (error) this.error ??= error;
    else if (bytes > 0) this.onBytes?.(bytes);
    this.remaining--;
    this.settleIfDone();
  }

  private settleIfDone(): void {
    if (!this.sealed || this.remaining > 0) return;
    if (this.error) this.reject(this.error);
    else this.resolve();
  }
}

interface SliceOp {
  opcode: number;
  length: number;
  /** READ: where the payload lands. */
  target: Buffer | undefined;
  targetOffset: number;
  transfer: Transfer;
}

const slab = new HeaderSlab();
/** Headers (and any payload bytes read along with them) land here; one per lane, reused for every read. */
const SCRATCH_BYTES = 64 * 1024;

/**
 * One connection to a local service's data port. Slices are written into a corked socket and leave in
 * one writev at the end of the turn; replies arrive in request order, so pending slices are a FIFO. The
 * socket reads through `onread` (no chunk allocated per read): while a READ payload is due, the kernel reads
 * straight into the caller's buffer at the slice's offset; headers go to a scratch buffer, and payload bytes
 * that arrive in it with a header are copied from there.
 */
export class DataLane {
  private readonly pending = new Fifo<SliceOp>();
  private readonly assembler = new HeaderAssembler();
  private reading: SliceOp | undefined;
  private readRemaining = 0;
  private readOffset = 0;
  private nextId = 1;
  private corked = false;
  failure: Error | undefined;
  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };

  private lastProgress = Date.now();
  private readonly watchdog: NodeJS.Timeout;

  private constructor(
    private readonly socket: Socket,
    private readonly address: string,
    timeoutMs: number,
    private readonly scratch: Buffer,
  ) {
    // A peer that stops answering (SIGSTOP, a frozen host) must not hang its callers: with requests
    // pending and no byte received for timeoutMs, the lane fails them and closes.
    this.watchdog = setInterval(
      () => {
        if (this.pending.length === 0 && !this.reading) return;
        if (Date.now() - this.lastProgress < timeoutMs) return;
        socket.destroy(new Error(`no reply for ${timeoutMs} ms`));
      },
      Math.max(10, Math.floor(timeoutMs / 4)),
    );
    this.watchdog.unref();
    socket.on('close', () => this.fail(new DataTransferError(`data connection to ${address} closed`)));
    socket.on('error', (error) =>
      this.fail(
        new DataTransferError(`data connection to ${address} failed: ${error.message}`, { cause: error }),
      ),
    );
  }

  static connect(host: string, port: number, timeoutMs = 30_000): Promise<DataLane> {
    const address = `${host}:${port}`;
    const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
    let lane: DataLane | undefined;
    return new Promise((resolve, reject) => {
      const socket = connect({
        host,
        port,
        noDelay: true,
        onread: {
          // Asked after every read for where the next one lands.
          buffer: () => lane?.nextReadBuffer() ?? scratch,
          callback: (bytes, buffer) => {
            lane?.onRead(bytes, buffer as Buffer);
            return true;
          },
        },
      });
      socket.once('connect', () => {
        socket.removeListener('error', onError);
        lane = new DataLane(socket, address, timeoutMs, scratch);
        resolve(lane);
      });
      const onError = (error: Error) =>
        reject(
          new DataTransferError(`cannot reach local service at ${address}: ${error.message}`, {
            cause: error,
          }),
        );
      socket.once('error', onError);
    });
  }

  get inFlight(): number {
    return this.pending.length;
  }

  /**
   * Queues one slice: WRITE sends `data` (a view, not copied); READ fills `target` at `targetOffset`.
   * `view`: the meta leader view that allocated the range (WRITE/COPY fencing; 0 without HA).
   */
  send(
    opcode: number,
    medium: number,
    offset: number,
    length: number,
    data: Buffer | undefined,
    target: Buffer | undefined,
    targetOffset: number,
    transfer: Transfer,
    view = 0,
  ): void {
    transfer.addSlice();
    if (this.failure) {
      transfer.sliceDone(this.failure);
      return;
    }
    if (this.pending.length === 0 && !this.reading) this.lastProgress = Date.now();
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      queueMicrotask(this.uncork);
    }
    const header = slab.next();
    writeDataHeader(header, 0, opcode, medium, DATA_STATUS.OK, this.nextId, offset, length, view);
    this.nextId = (this.nextId + 1) >>> 0 || 1;
    this.socket.write(header);
    if (data && data.length > 0) this.socket.write(data);
    this.pending.push({ opcode, length, target, targetOffset, transfer });
  }

  close(): void {
    clearInterval(this.watchdog);
    this.socket.destroy();
  }

  /** The rest of the READ payload being received (a view of the caller's buffer), else the scratch buffer. */
  private nextReadBuffer(): Buffer {
    if (this.readRemaining === 0 || this.failure) return this.scratch;
    const target = (this.reading as SliceOp).target as Buffer;
    return target.subarray(this.readOffset, this.readOffset + this.readRemaining);
  }

  private onRead(bytes: number, buffer: Buffer): void {
    this.lastProgress = Date.now();
    if (buffer === this.scratch) {
      this.onData(buffer, bytes);
      return;
    }
    // Read in place into the caller's buffer: only the bookkeeping is left.
    this.readOffset += bytes;
    this.readRemaining -= bytes;
    if (this.readRemaining === 0) this.finishPayload();
  }

  private finishPayload(): void {
    const op = this.reading as SliceOp;
    this.reading = undefined;
    op.transfer.sliceDone(undefined, op.length);
  }

  private onData(chunk: Buffer, end: number): void {
    let position = 0;
    while (position < end) {
      if (this.readRemaining > 0) {
        const op = this.reading as SliceOp;
        const count = Math.min(this.readRemaining, end - position);
        chunk.copy(op.target as Buffer, this.readOffset, position, position + count);
        this.readOffset += count;
        this.readRemaining -= count;
        position += count;
        if (this.readRemaining === 0) this.finishPayload();
        continue;
      }
      position = this.assembler.take(chunk, position, end);
      if (!this.assembler.complete) return;
      const header = this.assembler.header;
      this.assembler.reset();
      const op = this.pending.shift();
      if (!op) {
        this.socket.destroy(new Error(`unexpected data reply from ${this.address}`));
        return;
      }
      if (header.status !== DATA_STATUS.OK) {
        const reason = DATA_STATUS_TEXT[header.status] ?? `status ${header.status}`;
        op.transfer.sliceDone(
          new DataTransferError(`local service ${this.address}: ${reason}`, {}, false, header.status),
        );
      } else if (op.opcode === DATA_OPCODE.READ && header.length > 0) {
        this.reading = op;
        this.readRemaining = header.length;
        this.readOffset = op.targetOffset;
      } else {
        op.transfer.sliceDone(undefined, op.length);
      }
    }
  }

  private fail(error: Error): void {
    clearInterval(this.watchdog);
    if (this.failure) return;
    this.failure = error;
    if (this.reading) {
      this.reading.transfer.sliceDone(error);
      this.reading = undefined;
      this.readRemaining = 0;
    }
    for (let op = this.pending.shift(); op; op = this.pending.shift()) op.transfer.sliceDone(error);
  }
}
