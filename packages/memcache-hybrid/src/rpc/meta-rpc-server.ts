import { createServer, type Server, type Socket } from 'node:net';
import { type Medium, MMC } from '../core/codes';
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
}

type Handler = (service: MetaService, body: unknown) => unknown;
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
};

/**
 * The meta RPC server: frames are handled synchronously as they arrive, and the socket is corked for the
 * read so every reply it produced leaves in one writev. A client that stops reading its replies is paused
 * until its socket drains (bounded memory per connection).
 */
export class MetaRpcServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: MetaRpcServerOptions) {
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  async listen(port: number, host = '127.0.0.1'): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address();
    return { host, port: typeof address === 'object' && address ? address.port : port };
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const reader = new FrameReader({ ...DEFAULT_RPC_LIMITS, ...this.options.limits });
    const service = this.options.service;
    const onFrame = (requestId: number, opcode: number, body: Buffer) => {
      socket.write(encodeFrame(requestId, opcode, this.handle(service, opcode, body)));
    };
    const resume = () => socket.resume();
    socket.on('data', (chunk: Buffer) => {
      socket.cork();
      try {
        reader.push(chunk, onFrame);
      } catch (error) {
        // Framing is lost (an oversize or garbage header): drop the connection, keep the server.
        this.options.onError?.(error);
        socket.destroy();
        return;
      } finally {
        socket.uncork();
      }
      if (socket.writableNeedDrain) {
        socket.pause();
        socket.once('drain', resume);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private handle(service: MetaService, opcode: number, body: Buffer): unknown {
    const handler = HANDLERS[opcode];
    if (!handler) return [MMC.INVALID_PARAM];
    try {
      return handler(service, body.length === 0 ? null : packr.unpack(body));
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
    preferredRank: preferredRank === undefined || preferredRank === null ? -1 : Number(preferredRank),
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

function blobTuple(blob: { rank: number; medium: number; offset: number; size: number }) {
  return [blob.rank, blob.medium, blob.offset, blob.size];
}
