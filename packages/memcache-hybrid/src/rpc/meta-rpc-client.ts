import { connect, type Socket } from 'node:net';
import { parseMetaServiceUrl } from '../config/service-addresses';
import { encodeFrame, FrameReader, packr, RPC_OPCODE, type RpcLimits, type RpcOpcode } from './rpc-protocol';

interface Pending {
  resolve: (value: unknown[]) => void;
  reject: (error: Error) => void;
}

/**
 * A pipelining meta RPC client: calls made in the same turn go into a corked socket and leave in one
 * writev when it is uncorked at the end of the turn; replies are matched by request id. Reply shapes are
 * the server's positional arrays (result code first). A reply stream that is not meta RPC fails every
 * pending call and closes the connection.
 */
export class MetaRpcClient {
  private readonly pending = new Map<number, Pending>();
  private readonly reader: FrameReader;
  private nextId = 1;
  private corked = false;
  private failure: Error | undefined;
  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };
  private pushListener: ((opcode: number, body: unknown) => void) | undefined;
  private readonly onReply = (requestId: number, opcode: number, body: Buffer) => {
    if (requestId === 0) {
      this.pushListener?.(opcode, packr.unpack(body));
      return;
    }
    const call = this.pending.get(requestId);
    if (!call) return;
    this.pending.delete(requestId);
    call.resolve(packr.unpack(body) as unknown[]);
  };

  private constructor(
    private readonly socket: Socket,
    limits: Partial<RpcLimits>,
  ) {
    this.reader = new FrameReader(limits);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk, this.onReply);
      } catch (error) {
        this.fail(error as Error);
        socket.destroy();
      }
    });
    socket.on('close', () => this.fail(new Error('meta RPC connection closed')));
    socket.on('error', (error) => this.fail(error));
  }

  /** Connects to `tcp://host:port` (the `ock.mmc.meta_service_url` form, `[v6]` hosts too) or `host:port`. */
  static async connect(url: string, limits: Partial<RpcLimits> = {}): Promise<MetaRpcClient> {
    const { host, port } = parseMetaServiceUrl(url);
    const socket = connect({ host, port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new MetaRpcClient(socket, limits);
  }

  call(opcode: RpcOpcode, body: unknown = null): Promise<unknown[]> {
    if (this.failure) return Promise.reject(this.failure);
    const requestId = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0 || 1;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      queueMicrotask(this.uncork);
    }
    this.socket.write(encodeFrame(requestId, opcode, body));
    return new Promise((resolve, reject) => this.pending.set(requestId, { resolve, reject }));
  }

  alloc(
    key: string,
    size: number,
    replicas = 1,
    preferredRank: number | readonly number[] = -1,
    medium?: number,
  ) {
    return this.call(RPC_OPCODE.ALLOC, [key, size, replicas, preferredRank, medium ?? null]);
  }
  updateState(key: string, rank: number, medium: number, action: number) {
    return this.call(RPC_OPCODE.UPDATE_STATE, [key, rank, medium, action]);
  }
  get(key: string) {
    return this.call(RPC_OPCODE.GET, key);
  }
  remove(key: string) {
    return this.call(RPC_OPCODE.REMOVE, key);
  }
  mount(rank: number, medium: number, capacity: number) {
    return this.call(RPC_OPCODE.MOUNT, [rank, medium, capacity]);
  }
  /** `segments`: `[medium, capacity, sharedMemoryPath | null]` each. */
  mountLocal(
    rank: number,
    host: string,
    port: number,
    segments: [number, number, string | null][],
    blobs: readonly (readonly unknown[])[] = [],
    epoch = 0,
  ) {
    return this.call(RPC_OPCODE.MOUNT_LOCAL, [rank, host, port, segments, blobs, epoch]);
  }
  unmountLocal(rank: number) {
    return this.call(RPC_OPCODE.UNMOUNT_LOCAL, rank);
  }
  ping() {
    return this.call(RPC_OPCODE.PING);
  }

  /** True while the connection is usable. */
  get connected(): boolean {
    return this.failure === undefined;
  }

  /** Frames the server sends unasked (request id 0, e.g. BLOB_RECORD to a local service). */
  onPush(listener: (opcode: number, body: unknown) => void): void {
    this.pushListener = listener;
  }

  /** Called once when the connection fails or closes. */
  onClose(listener: (error: Error) => void): void {
    this.socket.once('close', () => listener(this.failure ?? new Error('meta RPC connection closed')));
  }

  /** Ends the connection once queued requests are written; resolves when the socket has closed. */
  close(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }
}
