import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { RESP_TYPE, ReplyScanner } from '@kvforge/resp';
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

export function parseAddress(address: string): { host: string; port: number } {
  const separator = address.lastIndexOf(':');
  return { host: address.slice(0, separator) || '127.0.0.1', port: Number(address.slice(separator + 1)) };
}

/**
 * One pipelined connection to a target Redis that writes pre-encoded RESP bytes and only counts the
 * replies (ReplyScanner), keeping the error texts. One promise per batch, never per command.
 */
export class TargetConnection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
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

  sendCommands(commands: readonly (readonly (string | Buffer)[])[]): Promise<BatchResult> {
    const parts: Buffer[] = [];
    for (const command of commands) {
      parts.push(Buffer.from(`*${command.length}\r\n`));
      for (const argument of command) {
        const bytes = typeof argument === 'string' ? Buffer.from(argument) : argument;
        parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
      }
    }
    return this.send(Buffer.concat(parts), commands.length);
  }

  close(): void {
    this.fail(new GunyuError(GUNYU_ERROR_CODES.stopped, 'target connection closed by the syncer'));
    this.socket?.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let start = 0;
    while (start < this.buffer.length) {
      const end = this.scanner.scan(this.buffer, start, this.buffer.length);
      if (end < 0) break;
      const batch = this.pending[0];
      if (batch) {
        if (this.scanner.isError) {
          batch.result.errors.push({
            index: batch.index,
            message: this.buffer.toString('utf8', start + 1, end - 2),
          });
        } else if (this.scanner.lastType === RESP_TYPE.array && this.buffer[start + 1] === 0x2d) {
          batch.result.aborted = true;
        }
        batch.index++;
        if (--batch.remaining === 0) {
          this.pending.shift();
          batch.resolve(batch.result);
        }
      }
      start = end;
    }
    this.buffer = start === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(start);
    if (start > 0) this.scanner.reset();
  }

  private fail(error: Error): void {
    if (this.closedError) return;
    this.closedError = error;
    for (const batch of this.pending.splice(0)) batch.reject(error);
  }
}
