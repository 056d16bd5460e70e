import { createServer, type Server, type Socket } from 'node:net';
import { type Clock, SYSTEM_CLOCK } from '@kvforge/runtime';
import type { BlobRecord } from '../core/blob-restore';
import { type Medium, MMC } from '../core/codes';
import type { LocalSegmentInfo } from '../core/local-services';
import type { AllocRequest } from '../core/meta-objects';
import type { MetaService } from '../core/meta-service';
import {
  DEFAULT_RPC_LIMITS,
  encodeFrame,
  FrameReader,
  packr,
  RPC_OPCODE,
  type RpcLimits,
} from './rpc-protocol';

export interface MetaRpcServerOptions {
  service: MetaService;
  limits?: Partial<RpcLimits>;
  onError?: (error: unknown) => void;
  /** A local service's rank was cleared: its link dropped or its lease ran out. */
  onLocalServiceLost?: (rank: number, reason: 'link lost' | 'lease expired') => void;
  /** Time for local-service leases; a ManualClock in tests. */
  clock?: Pick<Clock, 'now'>;
  /** HA: every request is answered `[NOT_LEADER, leaderRpcUrl | null]` unless this node serves. */
  leadership?: { isServing(): boolean; leaderRpcUrl(): string | null };
}

/** Per-connection state the handlers may use: which rank a local service's connection owns. */
interface Connection {
  socket: Socket;
  rank: number | undefined;
  lastSeen: number;
}

type Handler = (
  service: MetaService,
  body: unknown,
  connection: Connection,
  server: MetaRpcServer,
) => unknown;
type Args = unknown[];

/** Request bodies are positional arrays; replies are arrays with the MMC result code first. */
const HANDLERS: Record<number, Handler> = {
  [RPC_OPCODE.PING]: () => [MMC.OK],
  [RPC_OPCODE.ALLOC]: (service, body) => {
    const [key, size, replicas, preferredRank, medium] = body as Args;
    const { result, blobs } = service.alloc(
      key as string,
      allocRequest(size, replicas, preferredRank, medium),
    );
    return [result, blobs.map(blobTuple)];
  },
  [RPC_OPCODE.BATCH_ALLOC]: (service, body) => {
    const items = (body as Args[]).map(([key, size, replicas, preferredRank, medium]) => ({
      key: key as string,
      request: allocRequest(size, replicas, preferredRank, medium),
    }));
    const { result, items: results } = service.batchAlloc(items);
    return [result, results.map((item) => [item.result, item.blobs.map(blobTuple)])];
  },
  [RPC_OPCODE.GET]: (service, body) => {
    const { result, blob, size } = service.get(body as string);
    return [result, blob ? blobTuple(blob) : null, size];
  },
  [RPC_OPCODE.BATCH_GET]: (service, body) => {
    const { result, items } = service.batchGet(body as string[]);
    return [result, items.map((item) => [item.result, item.blob ? blobTuple(item.blob) : null, item.size])];
  },
  [RPC_OPCODE.UPDATE_STATE]: (service, body) => [service.updateState(stateUpdate(body as Args))],
  [RPC_OPCODE.BATCH_UPDATE_STATE]: (service, body) => {
    const { result, items } = service.batchUpdateState((body as Args[]).map(stateUpdate));
    return [result, items];
  },
  [RPC_OPCODE.REMOVE]: (service, body) => [service.remove(body as string)],
  [RPC_OPCODE.BATCH_REMOVE]: (service, body) => {
    const { result, items } = service.batchRemove(body as string[]);
    return [result, items];
  },
  [RPC_OPCODE.REMOVE_ALL]: (service) => [service.removeAll()],
  [RPC_OPCODE.QUERY]: (service, body) => {
    const { result, info } = service.query(body as string);
    return [result, info ?? null];
  },
  [RPC_OPCODE.BATCH_QUERY]: (service, body) => {
    const { result, items } = service.batchQuery(body as string[]);
    return [result, items];
  },
  [RPC_OPCODE.EXIST_KEY]: (service, body) => [service.existKey(body as string)],
  [RPC_OPCODE.BATCH_EXIST_KEY]: (service, body) => {
    const { result, items } = service.batchExistKey(body as string[]);
    return [result, items];
  },
  [RPC_OPCODE.GET_ALL_KEYS]: (service) => [MMC.OK, service.getAllKeys()],
  [RPC_OPCODE.MOUNT]: (service, body) => {
    const [rank, medium, capacity] = body as Args;
    return [service.mount(rank as number, medium as 0 | 1, capacity as number)];
  },
  [RPC_OPCODE.UNMOUNT]: (service, body) => {
    const [rank, medium] = body as Args;
    return [service.unmount(rank as number, medium as 0 | 1)];
  },
  [RPC_OPCODE.MOUNT_LOCAL]: (service, body, connection, server) => {
    const [rank, host, port, segments, blobs] = body as Args;
    if (
      !Number.isInteger(rank) ||
      typeof host !== 'string' ||
      !Number.isInteger(port) ||
      !Array.isArray(segments) ||
      (blobs !== undefined && blobs !== null && !Array.isArray(blobs))
    ) {
      return [MMC.INVALID_PARAM];
    }
    return [
      server.claimRank(connection, rank as number, () =>
        service.mountLocal(
          {
            rank: rank as number,
            host,
            port: port as number,
            segments: (segments as Args[]).map(localSegment),
          },
          (blobs ?? []) as BlobRecord[],
        ),
      ),
    ];
  },
  [RPC_OPCODE.UNMOUNT_LOCAL]: (_service, body, connection, server) => [
    server.releaseRank(connection, body as number),
  ],
  [RPC_OPCODE.LIST_LOCAL_SERVICES]: (service) => [
    MMC.OK,
    service.localServices.version,
    service.localServices
      .list()
      .map((info) => [
        info.rank,
        info.host,
        info.port,
        info.segments.map((segment) => [segment.medium, segment.capacity, segment.sharedMemoryPath ?? null]),
      ]),
  ],
  [RPC_OPCODE.GET_REPLICAS]: (service, body) => {
    const { result, size, blobs } = service.getReplicas(body as string);
    return [result, size, blobs.map(blobTuple)];
  },
  [RPC_OPCODE.BATCH_GET_REPLICAS]: (service, body) => {
    const { result, items } = service.batchGetReplicas(body as string[]);
    return [result, items.map((item) => [item.result, item.size, item.blobs.map(blobTuple)])];
  },
};

/**
 * The meta RPC server: frames are handled synchronously as they arrive, and the socket is corked for the
 * read so every reply it produced leaves in one writev. A client that stops reading its replies is paused
 * until its socket drains (bounded memory per connection).
 */
export class MetaRpcServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** The connection of each mounted local service; the rank is cleared when it goes away. */
  private readonly owners = new Map<number, Connection>();
  private readonly clock: Pick<Clock, 'now'>;
  private reading = false;
  private readonly corkedPushes = new Set<Socket>();

  constructor(private readonly options: MetaRpcServerOptions) {
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** Mounts a rank for this connection; a rank another live connection owns is refused (MMC_ERROR). */
  claimRank(connection: Connection, rank: number, mount: () => number): number {
    const owner = this.owners.get(rank);
    if (owner && owner !== connection) return MMC.ERROR;
    if (connection.rank !== undefined && connection.rank !== rank) return MMC.INVALID_PARAM;
    const result = mount();
    if (result === MMC.OK) {
      connection.rank = rank;
      this.owners.set(rank, connection);
    }
    return result;
  }

  /** A clean unmount by the local service that owns the rank. */
  releaseRank(connection: Connection, rank: number): number {
    if (this.owners.get(rank) !== connection) return MMC.INVALID_PARAM;
    this.owners.delete(rank);
    connection.rank = undefined;
    return this.options.service.clearRank(rank);
  }

  /**
   * Clears every local service that sent nothing (requests or heartbeats) for `leaseMs`: a frozen process
   * (SIGSTOP, a GC pause, a cut path that keeps the socket open) loses its rank like a dead one.
   */
  expireSilentLocalServices(leaseMs: number): number[] {
    const now = this.clock.now();
    const expired: number[] = [];
    for (const [rank, connection] of this.owners) {
      if (now - connection.lastSeen < leaseMs) continue;
      expired.push(rank);
      this.loseRank(connection, 'lease expired');
      connection.socket.destroy();
    }
    return expired;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address();
    return { host, port: typeof address === 'object' && address ? address.port : port };
  }

  /**
   * HA: tells the local service owning `rank` about a blob (BLOB_RECORD, request id 0). Written at once,
   * before the committing client's reply (that socket is corked until its read ends), so a commit the
   * client saw is already on its way to the local service when this process dies.
   */
  pushBlobRecord(rank: number, record: unknown[]): void {
    const owner = this.owners.get(rank);
    if (!owner || owner.socket.destroyed) return;
    // Inside a read handler the pushes are corked and flushed before that read's replies (one writev
    // per local service per read instead of one write per blob); outside one (the tick) they go at once.
    if (this.reading && !this.corkedPushes.has(owner.socket)) {
      owner.socket.cork();
      this.corkedPushes.add(owner.socket);
    }
    owner.socket.write(encodeFrame(0, RPC_OPCODE.BLOB_RECORD, record));
  }

  private flushPushes(): void {
    for (const socket of this.corkedPushes) socket.uncork();
    this.corkedPushes.clear();
  }

  /** Closes every connection (a leader stepping down): clients and local services look for the leader. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const reader = new FrameReader({ ...DEFAULT_RPC_LIMITS, ...this.options.limits });
    const service = this.options.service;
    const connection: Connection = { socket, rank: undefined, lastSeen: this.clock.now() };
    const leadership = this.options.leadership;
    const onFrame = (requestId: number, opcode: number, body: Buffer) => {
      // Checked per request (synchronously): a leader resumed past its lease refuses its first request.
      const reply =
        leadership && !leadership.isServing()
          ? [MMC.NOT_LEADER, leadership.leaderRpcUrl()]
          : this.handle(service, opcode, body, connection);
      socket.write(encodeFrame(requestId, opcode, reply));
    };
    const resume = () => socket.resume();
    socket.on('data', (chunk: Buffer) => {
      connection.lastSeen = this.clock.now();
      socket.cork();
      this.reading = true;
      try {
        reader.push(chunk, onFrame);
      } catch (error) {
        // Framing is lost (an oversize or garbage header): drop the connection, keep the server.
        this.options.onError?.(error);
        socket.destroy();
        return;
      } finally {
        this.reading = false;
        // Blob records leave before the replies of the commits that caused them.
        this.flushPushes();
        socket.uncork();
      }
      if (socket.writableNeedDrain) {
        socket.pause();
        socket.once('drain', resume);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.loseRank(connection, 'link lost');
    });
  }

  private loseRank(connection: Connection, reason: 'link lost' | 'lease expired'): void {
    const rank = connection.rank;
    if (rank === undefined || this.owners.get(rank) !== connection) return;
    this.owners.delete(rank);
    connection.rank = undefined;
    this.options.service.clearRank(rank);
    this.options.onLocalServiceLost?.(rank, reason);
  }

  private handle(service: MetaService, opcode: number, body: Buffer, connection: Connection): unknown {
    const handler = HANDLERS[opcode];
    if (!handler) return [MMC.INVALID_PARAM];
    try {
      return handler(service, body.length === 0 ? null : packr.unpack(body), connection, this);
    } catch (error) {
      // Malformed arguments answer INVALID_PARAM; the connection and other requests go on.
      this.options.onError?.(error);
      return [MMC.INVALID_PARAM];
    }
  }
}

function allocRequest(
  size: unknown,
  replicas: unknown,
  preferredRank: unknown,
  medium: unknown,
): AllocRequest {
  return {
    size: Number(size),
    replicas: replicas === undefined || replicas === null ? 1 : Number(replicas),
    preferredRank:
      preferredRank === undefined || preferredRank === null
        ? -1
        : Array.isArray(preferredRank)
          ? preferredRank.slice(0, 8).map(Number)
          : Number(preferredRank),
    ...(medium === 0 || medium === 1 ? { medium: medium as Medium } : {}),
  };
}

function stateUpdate([key, rank, medium, action]: Args) {
  return {
    key: key as string,
    rank: rank as number,
    medium: medium as 0 | 1,
    action: action as 1 | 2 | 3 | 4,
  };
}

function localSegment([medium, capacity, sharedMemoryPath]: Args): LocalSegmentInfo {
  if ((medium !== 0 && medium !== 1) || !Number.isSafeInteger(capacity)) throw new TypeError('bad segment');
  return {
    medium: medium as Medium,
    capacity: capacity as number,
    sharedMemoryPath: typeof sharedMemoryPath === 'string' ? sharedMemoryPath : undefined,
  };
}

function blobTuple(blob: { rank: number; medium: number; offset: number; size: number }) {
  return [blob.rank, blob.medium, blob.offset, blob.size];
}
