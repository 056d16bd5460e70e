import { connect, type Socket } from 'node:net';
import { Fifo, InputBuffer, ReplyScanner, RespWriter } from '@kvforge/resp';
import { parseAddress } from '../core/address';
import type { ReplySlot } from './reply-slot';

export type BackendState = 'connecting' | 'ready' | 'down';

/** What a backend connection tells its owner. */
export interface BackendEvents {
  /** A reply for `slot` (part `part`); `reply` may be a view into a socket chunk. */
  deliver(slot: ReplySlot, part: number, reply: Buffer, isError: boolean): void;
  /** The pending requests of this backend were answered with `error` (connection lost, timeout). */
  fail(slot: ReplySlot, part: number, error: Buffer): void;
  /** Called after each socket read, so the owner flushes the clients that got replies. */
  afterRead(): void;
  log(level: 'info' | 'warn', message: string, details: Record<string, unknown>): void;
}

export interface BackendConnectionOptions {
  address: string;
  password: string;
  events: BackendEvents;
  /** RESP version spoken with the backend (HELLO 3 on connect for 3). @default 2 */
  protocol?: 2 | 3;
  /** First reconnect delay, doubled up to `maxReconnectMs`. @default 100 */
  reconnectMs?: number;
  /** @default 2000 */
  maxReconnectMs?: number;
}

const ERROR_DOWN = Buffer.from('-ERR redis server is down\r\n');
const ERROR_LOST = Buffer.from('-ERR connection to redis lost\r\n');
const MINUS = 0x2d;

/**
 * One multiplexed connection to a Redis master. Requests from many clients are appended to one
 * writer and flushed once per event-loop turn; replies come back FIFO and are matched to their
 * slots. While the connection is down requests fail at once (no unbounded queue) and it reconnects.
 */
export class BackendConnection {
  readonly address: string;
  readonly protocol: 2 | 3;
  state: BackendState = 'connecting';
  /** Registered in the owner's dirty list for this turn. */
  dirty = false;
  private socket: Socket | undefined;
  private readonly writer = new RespWriter();
  private readonly slots = new Fifo<ReplySlot | undefined>(256);
  private readonly parts = new Fifo<number>(256);
  private readonly scanner = new ReplyScanner();
  private readonly input = new InputBuffer();
  private reconnectDelay: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private password: string;
  private readonly options: Required<BackendConnectionOptions>;

  constructor(options: BackendConnectionOptions) {
    this.options = { reconnectMs: 100, maxReconnectMs: 2000, protocol: 2, ...options };
    this.address = options.address;
    this.protocol = this.options.protocol;
    this.password = options.password;
    this.reconnectDelay = this.options.reconnectMs;
    this.open();
  }

  get pendingCount(): number {
    return this.slots.length;
  }

  /** The start time of the oldest request still waiting for a reply. */
  oldestStartedAt(): number | undefined {
    return this.slots.peek()?.startedAt;
  }

  /** Uses a new password from the next connection on (set_config redis_password). */
  setPassword(password: string): void {
    if (password === this.password) return;
    this.password = password;
    this.socket?.destroy();
  }

  /** The writer to append one request to; call `expect` right after for its reply. */
  get output(): RespWriter {
    return this.writer;
  }

  /** false when down: the caller answers the client with `downError`. */
  get accepting(): boolean {
    return this.state !== 'down';
  }

  static readonly downError = ERROR_DOWN;

  /** Registers the reply slot of the request just written to `output`. */
  expect(slot: ReplySlot | undefined, part: number): void {
    this.slots.push(slot);
    this.parts.push(part);
  }

  flush(): void {
    this.dirty = false;
    if (this.writer.length === 0 || !this.socket) return;
    this.socket.write(this.writer.take());
  }

  /** Fails every pending request with `error` and reconnects (stuck backend). */
  reset(error: Buffer): void {
    this.failPending(error);
    this.socket?.destroy();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    this.failPending(ERROR_LOST);
  }

  private open(): void {
    const target = parseAddress(this.address)!;
    this.state = 'connecting';
    const socket = connect({ host: target.host, port: target.port, noDelay: true, keepAlive: true });
    this.socket = socket;
    this.input.clear();
    this.scanner.reset();
    // Pre-authenticate (and pick RESP3): the reply is consumed by an internal (slot-less) entry.
    if (this.options.protocol === 3) {
      const auth = this.password.length > 0 ? ['AUTH', 'default', this.password] : [];
      this.writer.writeCommand(['HELLO', '3', ...auth]);
      this.expect(undefined, 0);
      this.flush();
    } else if (this.password.length > 0) {
      this.writer.writeCommand(['AUTH', this.password]);
      this.expect(undefined, 0);
      this.flush();
    }
    socket.on('connect', () => {
      this.state = 'ready';
      this.reconnectDelay = this.options.reconnectMs;
      this.options.events.log('info', 'backend connected', { address: this.address });
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      this.options.events.log('warn', 'backend error', { address: this.address, error: error.message });
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.state = 'down';
      this.writer.reset();
      this.failPending(ERROR_LOST);
      this.options.events.afterRead();
      if (this.closed) return;
      this.reconnectTimer = setTimeout(() => this.open(), this.reconnectDelay);
      this.reconnectDelay = Math.min(this.reconnectDelay * 2, this.options.maxReconnectMs);
    });
  }

  private failPending(error: Buffer): void {
    while (this.slots.length > 0) {
      const slot = this.slots.shift();
      const part = this.parts.shift()!;
      if (slot) this.options.events.fail(slot, part, error);
    }
  }

  private onData(chunk: Buffer): void {
    const input = this.input;
    input.append(chunk);
    const buffer = input.buffer;
    let start = input.start;
    const end = input.end;
    while (start < end) {
      const replyEnd = this.scanner.scan(buffer, start, end);
      if (replyEnd < 0) break;
      const slot = this.slots.shift();
      const part = this.parts.shift() ?? 0;
      const isError = buffer[start] === MINUS;
      if (slot) this.options.events.deliver(slot, part, buffer.subarray(start, replyEnd), isError);
      else if (isError) {
        this.options.events.log('warn', 'backend rejected AUTH/HELLO', {
          address: this.address,
          reply: buffer.toString('latin1', start, replyEnd - 2),
        });
      }
      start = replyEnd;
    }
    input.consumeTo(start);
    this.options.events.afterRead();
  }
}
