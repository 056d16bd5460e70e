import { createServer, type Server, type Socket } from 'node:net';
import { type Clock, SYSTEM_CLOCK } from '@kvforge/runtime';
import type { BlobRecord } from '../core/blob-restore';
import { MMC } from '../core/codes';
import type { LocalServiceInfo } from '../core/local-services';
import type { MetaService } from '../core/meta-service';
import { type Connection, HANDLERS } from './meta-rpc-handlers';
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
  leadership?: { isServing(): boolean; leaderRpcUrl(): string | null; viewVersion(): number };
}

const MOUNTS_PER_VIEW = 2 ** 20;

/**
 * The meta RPC server: frames are handled synchronously as they arrive (only a MOUNT_LOCAL with a blob map
 * answers later), and the socket is corked for the read so every reply it produced leaves in one writev. A client that stops reading its replies is paused
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
  private mountEpochs = 0;

  constructor(private readonly options: MetaRpcServerOptions) {
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /** The leader view this node serves under (0 without HA). */
  get viewVersion(): number {
    return this.options.leadership?.viewVersion() ?? 0;
  }

  /**
   * A new write epoch for a local service's next mount: `view × 2^20 + n`, n counting the mounts this node
   * prepared — so it grows with every re-mount on one leader and every leadership change (up to 2^20 mounts
   * per leadership).
   */
  reserveMountEpoch(): number {
    this.mountEpochs++;
    // Saturates rather than wraps: past 2^20 mounts only leadership changes still raise the epoch.
    return this.viewVersion * MOUNTS_PER_VIEW + Math.min(this.mountEpochs, MOUNTS_PER_VIEW - 1);
  }

  /**
   * Mounts a rank for this connection; a rank another live connection owns is refused (MMC_ERROR). The
   * connection owns the rank at once, so a link lost during a blob-map rebuild clears it (and stops the
   * rebuild); the reply `[OK, viewVersion]` waits until the map is adopted.
   */
  mountLocal(
    connection: Connection,
    info: LocalServiceInfo,
    blobs: readonly BlobRecord[],
  ): unknown[] | Promise<unknown[]> {
    const owner = this.owners.get(info.rank);
    if (owner && owner !== connection) return [MMC.ERROR];
    if (connection.rank !== undefined && connection.rank !== info.rank) return [MMC.INVALID_PARAM];
    const { result, restoring } = this.options.service.mountLocal(info, blobs);
    if (result !== MMC.OK) return [result];
    connection.rank = info.rank;
    this.owners.set(info.rank, connection);
    if (!restoring) return [MMC.OK, this.viewVersion];
    return restoring.then(() => [
      this.owners.get(info.rank) === connection ? MMC.OK : MMC.ERROR,
      this.viewVersion,
    ]);
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
      if (reply instanceof Promise) {
        // A blob-map rebuild answers when done (clients match replies by request id).
        reply.then(
          (late) => {
            if (!socket.destroyed) socket.write(encodeFrame(requestId, opcode, late));
          },
          (error: unknown) => {
            this.options.onError?.(error);
            if (!socket.destroyed) socket.write(encodeFrame(requestId, opcode, [MMC.ERROR]));
          },
        );
        return;
      }
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
