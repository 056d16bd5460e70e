import type { Socket } from 'node:net';
import type { BlobRecord } from '../core/blob-restore';
import { BLOB_ACTION, type Medium, MMC } from '../core/codes';
import type { LocalSegmentInfo } from '../core/local-services';
import type { AllocRequest } from '../core/meta-objects';
import type { MetaService } from '../core/meta-service';
import type { MetaRpcServer } from './meta-rpc-server';
import { RPC_OPCODE } from './rpc-protocol';

/** Per-connection state the handlers may use: which rank a local service's connection owns. */
export interface Connection {
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
export const HANDLERS: Record<number, Handler> = {
  // The view rides on PING, ALLOC and MOUNT_LOCAL replies: writers stamp it on their data-protocol
  // WRITEs and local services fence on it (data-protocol.ts).
  [RPC_OPCODE.PING]: (_service, _body, _connection, server) => [MMC.OK, server.viewVersion],
  [RPC_OPCODE.ALLOC]: (service, body, _connection, server) => {
    const [key, size, replicas, preferredRank, medium] = body as Args;
    const { result, blobs } = service.alloc(
      key as string,
      allocRequest(size, replicas, preferredRank, medium),
    );
    return [result, blobs.map((blob) => allocTuple(service, blob)), server.viewVersion];
  },
  [RPC_OPCODE.BATCH_ALLOC]: (service, body, _connection, server) => {
    const items = (body as Args[]).map(([key, size, replicas, preferredRank, medium]) => ({
      key: key as string,
      request: allocRequest(size, replicas, preferredRank, medium),
    }));
    const { result, items: results } = service.batchAlloc(items);
    return [
      result,
      results.map((item) => [item.result, item.blobs.map((blob) => allocTuple(service, blob))]),
      server.viewVersion,
    ];
  },
  [RPC_OPCODE.GET]: (service, body) => {
    const { result, blob, size } = service.get(body as string);
    return [result, blob ? blobTuple(blob) : null, size];
  },
  [RPC_OPCODE.BATCH_GET]: (service, body) => {
    const { result, items } = service.batchGet(body as string[]);
    return [result, items.map((item) => [item.result, item.blob ? blobTuple(item.blob) : null, item.size])];
  },
  [RPC_OPCODE.UPDATE_STATE]: (service, body) => {
    if (isStaleCommit(service, body as Args)) return [MMC.STALE_VIEW];
    return [service.updateState(stateUpdate(body as Args))];
  },
  [RPC_OPCODE.BATCH_UPDATE_STATE]: (service, body) => {
    const updates = body as Args[];
    // Only the stale items are refused; the others (reads, other writers) go on.
    if (updates.some((update) => isStaleCommit(service, update))) {
      const items = updates.map((update) =>
        isStaleCommit(service, update) ? MMC.STALE_VIEW : service.updateState(stateUpdate(update)),
      );
      return [items.every((item) => item === MMC.OK) ? MMC.OK : MMC.ERROR, items];
    }
    const { result, items } = service.batchUpdateState(updates.map(stateUpdate));
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
  [RPC_OPCODE.MOUNT_LOCAL]: (_service, body, connection, server) => {
    const [rank, host, port, segments, blobs, epoch] = body as Args;
    if (
      !Number.isInteger(rank) ||
      typeof host !== 'string' ||
      !Number.isInteger(port) ||
      !Array.isArray(segments) ||
      (blobs !== undefined && blobs !== null && !Array.isArray(blobs)) ||
      (epoch !== undefined && epoch !== null && !Number.isSafeInteger(epoch))
    ) {
      return [MMC.INVALID_PARAM];
    }
    return server.mountLocal(
      connection,
      {
        rank: rank as number,
        host,
        port: port as number,
        segments: (segments as Args[]).map(localSegment),
        epoch: (epoch as number | null | undefined) ?? 0,
      },
      ((blobs ?? []) as unknown[]).filter(Array.isArray) as unknown as BlobRecord[],
    );
  },
  [RPC_OPCODE.MOUNT_EPOCH]: (_service, _body, _connection, server) => [MMC.OK, server.reserveMountEpoch()],
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

/**
 * A WRITE_OK/WRITE_FAIL stamped (5th element) with an epoch older than its rank's current mount: that alloc
 * was made by a former leader or before the rank re-mounted, so it is not one of this mount's.
 */
function isStaleCommit(service: MetaService, update: Args): boolean {
  const stamped = update[4];
  return (
    typeof stamped === 'number' &&
    (update[3] === BLOB_ACTION.WRITE_OK || update[3] === BLOB_ACTION.WRITE_FAIL) &&
    stamped < epochOf(service, update[1])
  );
}

const epochOf = (service: MetaService, rank: unknown) =>
  (typeof rank === 'number' ? service.localServices.get(rank)?.epoch : undefined) ?? 0;

/** An allocated blob with its rank's write epoch, the stamp of its WRITEs and its commit. */
function allocTuple(
  service: MetaService,
  blob: { rank: number; medium: number; offset: number; size: number },
) {
  return [blob.rank, blob.medium, blob.offset, blob.size, epochOf(service, blob.rank)];
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
