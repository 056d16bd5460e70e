import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { InputBuffer, RESP_TYPE, ReplyScanner, RespWriter } from '@kvforge/resp';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';
import { openSocket } from '../net/open-socket';

export interface RedisEndpoint {
  host: string;
  port: number;
  userName?: string | undefined;
  password?: string | undefined;
  /** Connect with TLS using these options (CA, client certificate, servername …). */
  tls?: ConnectionOptions | undefined;
}

export interface BatchError {
  /** Index of the reply within the batch. */
  index: number;
  message: string;
}

export interface BatchResult {
  errors: BatchError[];
  /** True when a reply was a null array (an EXEC that aborted). */
  aborted: boolean;
}

interface PendingBatch {
  remaining: number;
  index: number;
  result: BatchResult;
  resolve: (result: BatchResult) => void;
  reject: (error: Error) => void;
}

/**
 * One pipelined connection to a target Redis that writes pre-encoded RESP bytes and only counts the
 * replies (ReplyScanner), keeping the error texts. One promise per batch, never per command.
 */
export class TargetConnection {
  private socket: Socket | undefined;
  /** Replies not yet counted: whole replies are scanned in place, a split one is gathered (no concat). */
  private readonly input = new InputBuffer();
  private readonly scanner = new ReplyScanner();
  private readonly pending: PendingBatch[] = [];
  private closedError: Error | undefined;

  constructor(private readonly endpoint: RedisEndpoint) {}

  async connect(): Promise<void> {
    const socket = await openSocket(this.endpoint, (opening) => {
      this.socket = opening;
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new GunyuError(GUNYU_ERROR_CODES.target, 'target connection closed')));
    if (this.endpoint.password) {
      const args = this.endpoint.userName
        ? ['AUTH', this.endpoint.userName, this.endpoint.password]
        : ['AUTH', this.endpoint.password];
      const result = await this.sendCommands([args]);
      if (result.errors.length > 0)
        throw new GunyuError(GUNYU_ERROR_CODES.target, `target AUTH failed: ${result.errors[0]?.message}`);
    }
  }

  get inFlight(): number {
    return this.pending.length;
  }

  /** Sends raw RESP bytes that produce `replyCount` replies. */
  send(bytes: Uint8Array, replyCount: number): Promise<BatchResult> {
    return this.sendParts([bytes], replyCount);
  }

  /**
   * Sends RESP made of several pieces, written as they are (no concatenation; the socket keeps a
   * reference until written, so the caller must not reuse them before the reply).
   */
  sendParts(parts: readonly Uint8Array[], replyCount: number): Promise<BatchResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<BatchResult>((resolve, reject) => {
      this.pending.push({
        remaining: replyCount,
        index: 0,
        result: { errors: [], aborted: false },
        resolve,
        reject,
      });
      const socket = this.socket as Socket;
      if (parts.length === 1) {
        socket.write(parts[0] as Uint8Array);
        return;
      }
      socket.cork();
      for (const part of parts) socket.write(part);
      socket.uncork();
    });
  }

  /** Encodes and sends whole commands (AUTH, SELECT: rare, off the hot path) in one write. */
  sendCommands(commands: readonly (readonly (string | Buffer)[])[]): Promise<BatchResult> {
    const writer = new RespWriter();
    for (const command of commands) writer.writeCommand(command);
    return this.send(writer.take(), commands.length);
  }

  close(): void {
    this.fail(new GunyuError(GUNYU_ERROR_CODES.stopped, 'target connection closed by the syncer'));
    this.socket?.destroy();
  }

  private onData(chunk: Buffer): void {
    const input = this.input;
    input.append(chunk);
    const buffer = input.buffer;
    const end = input.end;
    let start = input.start;
    while (start < end) {
      // Resumes a split reply where it stopped (same buffer and start), restarts after a regather.
      const replyEnd = this.scanner.scan(buffer, start, end);
      if (replyEnd < 0) break;
      const batch = this.pending[0];
      if (batch) {
        if (this.scanner.isError) {
          batch.result.errors.push({
            index: batch.index,
            message: buffer.toString('utf8', start + 1, replyEnd - 2),
          });
        } else if (this.scanner.lastType === RESP_TYPE.array && buffer[start + 1] === 0x2d) {
          batch.result.aborted = true;
        }
        batch.index++;
        if (--batch.remaining === 0) {
          this.pending.shift();
          batch.resolve(batch.result);
        }
      }
      start = replyEnd;
    }
    input.consumeTo(start);
  }

  private fail(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const batch of this.pending.splice(0)) batch.reject(error);
  }
}
