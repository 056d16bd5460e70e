import { connect, type Socket } from 'node:net';
import { encodeFrame, FrameReader, packr, RPC_OPCODE, type RpcOpcode } from './rpc-protocol';

interface Pending {
  resolve: (value: unknown[]) => void;
  reject: (error: Error) => void;
}

/**
 * A pipelining meta RPC client: calls made in the same turn leave in one write; replies are matched by
 * request id. Reply shapes are the server's positional arrays (result code first).
 */
export class MetaRpcClient {
  private readonly pending = new Map<number, Pending>();
  private readonly reader = new FrameReader();
  private nextId = 1;
  private queued: Buffer[] = [];
  private flushScheduled = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) =>
      this.reader.push(chunk, (requestId, _opcode, body) => {
        const call = this.pending.get(requestId);
        if (!call) return;
        this.pending.delete(requestId);
        call.resolve(packr.unpack(body) as unknown[]);
      }),
    );
    socket.on('close', () => this.failAll(new Error('meta RPC connection closed')));
    socket.on('error', (error) => this.failAll(error));
  }

  /** Connects to `tcp://host:port` (the `ock.mmc.meta_service_url` form) or `host:port`. */
  static async connect(url: string): Promise<MetaRpcClient> {
    const { hostname, port } = new URL(url.includes('://') ? url : `tcp://${url}`);
    const socket = connect({ host: hostname, port: Number(port), noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new MetaRpcClient(socket);
  }

  call(opcode: RpcOpcode, body: unknown = null): Promise<unknown[]> {
    const requestId = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0 || 1;
    this.queued.push(encodeFrame(requestId, opcode, body));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    return new Promise((resolve, reject) => this.pending.set(requestId, { resolve, reject }));
  }

  alloc(key: string, size: number, replicas = 1, preferredRank = -1, medium?: number) {
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

  close(): void {
    this.socket.end();
  }

  private flush(): void {
    this.flushScheduled = false;
    const frames = this.queued;
    this.queued = [];
    this.socket.write(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames));
  }

  private failAll(error: Error): void {
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }
}
