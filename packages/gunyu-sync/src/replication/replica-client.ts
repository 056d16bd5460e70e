import type { Socket } from 'node:net';
import { equalsIgnoreCase, InputBuffer, RequestScanner } from '@kvforge/resp';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';
import { openSocket } from '../net/open-socket';
import type { RedisEndpoint } from '../replay/target-connection';

export interface ReplicaClientOptions {
  /** Port announced with REPLCONF listening-port. */
  listeningPort: number;
  /** Announce `capa eof` (diskless transfer when the source has repl-diskless-sync yes). */
  capaEof: boolean;
  /** REPLCONF ACK interval. */
  ackIntervalMs: number;
}

export const DEFAULT_REPLICA_CLIENT_OPTIONS: Readonly<ReplicaClientOptions> = Object.freeze({
  listeningPort: 0,
  capaEof: true,
  ackIntervalMs: 1000,
});

export interface ReplicaListener {
  /** +FULLRESYNC: an RDB follows; the stream offset starts at `offset`. */
  onFullResync(replicationId: string, offset: number): void;
  onRdbData(chunk: Buffer): void;
  onRdbEnd(): void;
  /** +CONTINUE: the stream resumes at the requested offset. */
  onContinue(replicationId: string, offset: number): void;
  /**
   * One complete command of the replication stream: `buffer[start, end)`, arguments located by the
   * scanner, `offset` = source offset after it. The buffer is never reused by the client.
   */
  onCommand(buffer: Buffer, start: number, end: number, scanner: RequestScanner, offset: number): void;
  onClose(error: Error | undefined): void;
}

type Phase = 'handshake' | 'psync' | 'rdb-header' | 'rdb' | 'stream' | 'closed';

const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * A fake replica: handshake, PSYNC, RDB transfer (disk-based `$<len>` or diskless `$EOF:<mark>`),
 * then the command stream split with RequestScanner. Reads at wire speed: every byte is handed to the
 * listener at once (the listener spools), and REPLCONF ACK reports the received offset every second.
 */
export class ReplicaClient {
  private readonly options: ReplicaClientOptions;
  private socket: Socket | undefined;
  private phase: Phase = 'handshake';
  /**
   * Bytes read and not yet handed over. Whole commands are handed out as views of the socket's own
   * chunk; a command split over reads is gathered by InputBuffer, which never overwrites bytes it
   * handed out (the spool keeps those views), so there is no Buffer.concat per read.
   */
  private readonly input = new InputBuffer();
  private lineWaiters: ((line: string) => void)[] = [];
  private rdbRemaining = 0;
  private eofMark: Buffer | undefined;
  /** Diskless transfer: the last bytes read, held back because they may be the start of the EOF mark. */
  private rdbTail: Buffer = EMPTY;
  private readonly scanner = new RequestScanner({});
  private ackTimer: NodeJS.Timeout | undefined;
  /** Source offset of the next byte of the stream. */
  offset = 0;
  replicationId = '';

  constructor(
    private readonly endpoint: RedisEndpoint,
    private readonly listener: ReplicaListener,
    options: Partial<ReplicaClientOptions> = {},
  ) {
    this.options = { ...DEFAULT_REPLICA_CLIENT_OPTIONS, ...options };
  }

  /** Connects, handshakes and sends PSYNC; resolves once the PSYNC reply was read. */
  async start(replicationId: string, nextOffset: number): Promise<'full' | 'continue'> {
    const socket = await openSocket(this.endpoint, (opening) => {
      this.socket = opening;
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.close(error));
    socket.on('close', () =>
      this.close(new GunyuError(GUNYU_ERROR_CODES.replication, 'source connection closed')),
    );
    if (this.endpoint.password) {
      const args = this.endpoint.userName
        ? ['AUTH', this.endpoint.userName, this.endpoint.password]
        : ['AUTH', this.endpoint.password];
      await this.expectOk(args);
    }
    await this.expectOk(['REPLCONF', 'listening-port', String(this.options.listeningPort)]);
    await this.expectOk(
      this.options.capaEof ? ['REPLCONF', 'capa', 'eof', 'capa', 'psync2'] : ['REPLCONF', 'capa', 'psync2'],
    );
    this.phase = 'psync';
    this.write(['PSYNC', replicationId, String(nextOffset)]);
    const reply = await this.readLine();
    if (reply.startsWith('+FULLRESYNC')) {
      const [, id, offset] = reply.split(' ');
      this.replicationId = id ?? '';
      this.offset = Number(offset);
      this.phase = 'rdb-header';
      this.listener.onFullResync(this.replicationId, this.offset);
      this.startAcks();
      this.processBuffer();
      return 'full';
    }
    if (reply.startsWith('+CONTINUE')) {
      const id = reply.split(' ')[1];
      this.replicationId = id ?? replicationId;
      // PSYNC asks for the first missing byte; our offset counts the bytes already applied.
      this.offset = nextOffset - 1;
      this.phase = 'stream';
      this.listener.onContinue(this.replicationId, this.offset);
      this.startAcks();
      this.processBuffer();
      return 'continue';
    }
    throw new GunyuError(GUNYU_ERROR_CODES.replication, `unexpected PSYNC reply: ${reply}`);
  }

  stop(): void {
    this.close(undefined);
    this.socket?.destroy();
  }

  /** Stops reading the source (backpressure: the source buffers, as for a slow native replica). */
  pauseReading(): void {
    this.socket?.pause();
  }

  resumeReading(): void {
    this.socket?.resume();
  }

  sendAck(): void {
    if (this.phase === 'stream') this.write(['REPLCONF', 'ACK', String(this.offset)]);
  }

  private startAcks(): void {
    this.ackTimer = setInterval(() => this.sendAck(), this.options.ackIntervalMs);
    this.ackTimer.unref();
  }

  private write(args: readonly string[]): void {
    let text = `*${args.length}\r\n`;
    for (const argument of args) text += `$${Buffer.byteLength(argument)}\r\n${argument}\r\n`;
    this.socket?.write(text);
  }

  private async expectOk(args: readonly string[]): Promise<void> {
    this.write(args);
    const line = await this.readLine();
    if (line.startsWith('-'))
      throw new GunyuError(GUNYU_ERROR_CODES.replication, `${args[0]} ${args[1] ?? ''} failed: ${line}`);
  }

  private readLine(): Promise<string> {
    // Closed between two handshake steps (stop() while start() runs): no reply will ever come.
    if (this.phase === 'closed') return Promise.resolve('-ERR closed');
    return new Promise((resolve) => {
      this.lineWaiters.push(resolve);
      this.processBuffer();
    });
  }

  private close(error: Error | undefined): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    if (this.ackTimer) clearInterval(this.ackTimer);
    for (const waiter of this.lineWaiters.splice(0)) waiter(`-ERR ${error?.message ?? 'closed'}`);
    this.listener.onClose(error);
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'rdb' && this.input.length === 0) {
      this.consumeRdb(chunk);
      return;
    }
    this.input.append(chunk);
    this.processBuffer();
  }

  /** Takes one line (without CRLF) after skipping bare `\n` keep-alives, or undefined. */
  private takeLine(): string | undefined {
    const input = this.input;
    const buffer = input.buffer;
    let start = input.start;
    while (start < input.end && buffer[start] === NEWLINE) start++;
    const lineEnd = buffer.indexOf('\r\n', start);
    if (lineEnd < 0 || lineEnd + 2 > input.end) {
      input.consumeTo(start);
      return undefined;
    }
    const line = buffer.toString('latin1', start, lineEnd);
    input.consumeTo(lineEnd + 2);
    return line;
  }

  private processBuffer(): void {
    if (this.phase === 'handshake' || this.phase === 'psync') {
      while (this.lineWaiters.length > 0) {
        const line = this.takeLine();
        if (line === undefined) return;
        this.lineWaiters.shift()?.(line);
      }
      return;
    }
    if (this.phase === 'rdb-header') {
      const line = this.takeLine();
      if (line === undefined) return;
      if (line.startsWith('$EOF:')) {
        this.eofMark = Buffer.from(line.slice(5), 'latin1');
      } else if (line.startsWith('$')) {
        this.eofMark = undefined;
        this.rdbRemaining = Number(line.slice(1));
      } else {
        this.close(new GunyuError(GUNYU_ERROR_CODES.replication, `unexpected RDB header: ${line}`));
        return;
      }
      this.phase = 'rdb';
      const input = this.input;
      const rest = input.buffer.subarray(input.start, input.end);
      input.clear();
      if (rest.length > 0) this.consumeRdb(rest);
      return;
    }
    if (this.phase === 'stream') this.scanStream();
  }

  private consumeRdb(chunk: Buffer): void {
    if (this.eofMark) {
      this.consumeDisklessRdb(chunk, this.eofMark);
      return;
    }
    if (chunk.length <= this.rdbRemaining) {
      this.rdbRemaining -= chunk.length;
      if (chunk.length > 0) this.listener.onRdbData(chunk);
      if (this.rdbRemaining === 0) this.finishRdb(EMPTY);
      return;
    }
    const rdbPart = chunk.subarray(0, this.rdbRemaining);
    this.rdbRemaining = 0;
    if (rdbPart.length > 0) this.listener.onRdbData(rdbPart);
    this.finishRdb(chunk.subarray(rdbPart.length));
  }

  /**
   * Diskless: the 40-byte mark ends the payload and may be split across reads, so the last bytes of
   * each read are held back until the next one shows they were not the mark. The stream is `tail` then
   * `chunk`, handed over as two views (never concatenated).
   */
  private consumeDisklessRdb(chunk: Buffer, mark: Buffer): void {
    const tail = this.rdbTail;
    const total = tail.length + chunk.length;
    const byteAt = (index: number): number =>
      (index < tail.length ? tail[index] : chunk[index - tail.length]) as number;
    let marked = total >= mark.length;
    for (let i = 0; marked && i < mark.length; i++) marked = byteAt(total - mark.length + i) === mark[i];
    const keep = marked ? mark.length : Math.min(mark.length, total);
    const dataBytes = total - keep;
    const fromTail = Math.min(tail.length, dataBytes);
    if (fromTail > 0) this.listener.onRdbData(tail.subarray(0, fromTail));
    if (dataBytes > fromTail) this.listener.onRdbData(chunk.subarray(0, dataBytes - tail.length));
    if (marked) {
      this.rdbTail = EMPTY;
      this.finishRdb(EMPTY);
      return;
    }
    // A copy of at most 40 bytes, so the held-back tail does not pin the whole read chunk.
    const held = Buffer.allocUnsafe(keep);
    for (let i = 0; i < keep; i++) held[i] = byteAt(dataBytes + i);
    this.rdbTail = held;
  }

  private finishRdb(rest: Buffer): void {
    this.listener.onRdbEnd();
    this.phase = 'stream';
    // A diskless master only starts streaming after the first ACK.
    this.sendAck();
    this.input.clear();
    if (rest.length > 0) this.input.append(rest);
    this.scanStream();
  }

  private scanStream(): void {
    const input = this.input;
    const buffer = input.buffer;
    const end = input.end;
    let start = input.start;
    while (start < end) {
      if (buffer[start] === NEWLINE) {
        start++;
        continue;
      }
      // Resumes a command split over reads where it stopped (same buffer and start).
      const commandEnd = this.scanner.scan(buffer, start, end);
      if (commandEnd < 0) break;
      this.offset += commandEnd - start;
      const scanner = this.scanner;
      if (
        scanner.argumentCount >= 2 &&
        equalsIgnoreCase(
          buffer,
          scanner.argumentStarts[0] as number,
          scanner.argumentEnds[0] as number,
          'REPLCONF',
        ) &&
        equalsIgnoreCase(
          buffer,
          scanner.argumentStarts[1] as number,
          scanner.argumentEnds[1] as number,
          'GETACK',
        )
      ) {
        this.sendAck();
      }
      this.listener.onCommand(buffer, start, commandEnd, scanner, this.offset);
      start = commandEnd;
    }
    input.consumeTo(start);
  }
}
