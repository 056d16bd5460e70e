import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, type Logger, SILENT_LOGGER, SYSTEM_CLOCK, type TimerHandle } from '@kvforge/runtime';
import type { BlobRecord } from '../core/blob-restore';
import { MEDIUM, type Medium, MMC } from '../core/codes';
import { connectToLeader, splitMetaUrls } from '../rpc/leader-meta-client';
import type { MetaRpcClient } from '../rpc/meta-rpc-client';
import { RPC_OPCODE } from '../rpc/rpc-protocol';
import { DataServer } from './data-server';
import { HostMemoryBackend, type SegmentBackend, SharedMemoryFileBackend } from './segment-backend';

export interface LocalServiceOptions {
  rank: number;
  /** The meta service, `tcp://HOST:PORT`; an HA pair comma-separated (then a lost leader is followed). */
  metaUrl: string;
  dramBytes: number;
  hbmBytes: number;
  /** Data protocol listener; port 0 picks a free one (what is registered is the bound port). */
  dataHost: string;
  dataPort: number;
  /** Hold DRAM in a /dev/shm file so same-host clients can skip the socket. */
  sharedMemory: boolean;
  sharedMemoryDirectory: string;
  /** The HBM segment's memory; host memory unless a device backend is given. */
  createHbmBackend: (capacity: number) => SegmentBackend;
  /** A PING this often keeps the meta service's lease on this rank alive. */
  heartbeatMs: number;
  /** Keep retrying the meta service this long at start (200 ms apart); 0: one try. */
  metaRetryMs: number;
  maxTransferBytes: number;
  logger: Logger;
  clock: Clock;
}

export const DEFAULT_LOCAL_SERVICE_OPTIONS = {
  dataHost: '127.0.0.1',
  dataPort: 0,
  hbmBytes: 0,
  sharedMemory: false,
  sharedMemoryDirectory: '/dev/shm',
  heartbeatMs: 1000,
  metaRetryMs: 10_000,
  maxTransferBytes: 64 * 1024 * 1024,
} as const;

export interface LocalService {
  rank: number;
  data: { host: string; port: number };
  segments: ReadonlyMap<number, SegmentBackend>;
  /** The write epoch WRITEs must carry at least (reserved from the leader at each mount). */
  readonly view: number;
  /** Unmounts from the meta service, answers the requests already started, then frees the memory. */
  close(): Promise<void>;
  /** Resolves if the meta service connection is lost for good (the app exits non-zero). */
  metaLost: Promise<Error>;
}

/**
 * One rank's local service: allocates and touches its segments, serves them over the data protocol,
 * mounts them with the meta service (registering the data address) and heartbeats.
 */
export async function startLocalService(
  input: Pick<LocalServiceOptions, 'rank' | 'metaUrl' | 'dramBytes'> & Partial<LocalServiceOptions>,
): Promise<LocalService> {
  const options: LocalServiceOptions = {
    ...DEFAULT_LOCAL_SERVICE_OPTIONS,
    createHbmBackend: (capacity) => new HostMemoryBackend(MEDIUM.HBM, capacity),
    logger: SILENT_LOGGER,
    clock: SYSTEM_CLOCK,
    ...input,
  };
  if (options.dramBytes === 0 && options.hbmBytes === 0) {
    throw new RangeError('a local service needs DRAM or HBM: dram.size and hbm.size are both 0');
  }
  const segments = new Map<Medium, SegmentBackend>();
  const closeSegments = () => {
    for (const segment of segments.values()) segment.close();
  };
  try {
    if (options.hbmBytes > 0) segments.set(MEDIUM.HBM, options.createHbmBackend(options.hbmBytes));
    if (options.dramBytes > 0) {
      if (options.sharedMemory)
        removeStaleSegmentFiles(options.sharedMemoryDirectory, options.rank, options.logger);
      const path = join(options.sharedMemoryDirectory, `${segmentFilePrefix(options.rank)}${process.pid}`);
      segments.set(
        MEDIUM.DRAM,
        options.sharedMemory
          ? new SharedMemoryFileBackend(MEDIUM.DRAM, options.dramBytes, path)
          : new HostMemoryBackend(MEDIUM.DRAM, options.dramBytes),
      );
    }
  } catch (error) {
    closeSegments();
    throw error;
  }

  const data = new DataServer({
    segments,
    maxTransferBytes: options.maxTransferBytes,
    onError: (error) => options.logger.warn({ err: error }, 'bad data request'),
  });
  let meta: MetaRpcClient | undefined;
  const blobs = new BlobMap();
  try {
    const bound = await data.listen(options.dataPort, options.dataHost);
    meta = await connectWithRetry(options, options.metaRetryMs);
    await mountOn(meta, options, bound, segments, blobs, data);
    options.logger.info({ rank: options.rank, data: bound }, 'segments mounted');
    return running(options, meta, data, bound, segments, closeSegments, blobs);
  } catch (error) {
    await meta?.close();
    await data.close();
    closeSegments();
    throw error;
  }
}

/**
 * HA: the committed blobs this rank holds, as the leader reports them (BLOB_RECORD pushes), keyed by
 * medium and offset. A new leader gets it with MOUNT_LOCAL and rebuilds its metadata from it.
 */
class BlobMap {
  private readonly records = new Map<number, BlobRecord>();

  listen(meta: MetaRpcClient): void {
    meta.onPush((opcode, body) => {
      if (opcode !== RPC_OPCODE.BLOB_RECORD || !Array.isArray(body)) return;
      if (body[0] === 1) {
        const [, key, size, medium, offset] = body as [number, string, number, Medium, number];
        this.records.set(slot(medium, offset), [key, size, medium, offset]);
      } else {
        this.records.delete(slot(body[1] as Medium, body[2] as number));
      }
    });
  }

  list(): BlobRecord[] {
    return [...this.records.values()];
  }
}

// Offsets are 4 KiB-aligned and below 2^52, so medium + offset fit one safe integer.
const slot = (medium: Medium, offset: number) => offset * 2 + medium;

/**
 * Mounts on `meta` (the leader). Fencing first: a new write epoch is reserved (MOUNT_EPOCH) and raised on
 * the data server *before* the mount is sent, so once the leader can hand out this rank's ranges no WRITE
 * allocated before this mount (by a former leader, or by this one before the link dropped) is accepted.
 */
async function mountOn(
  meta: MetaRpcClient,
  options: LocalServiceOptions,
  bound: { host: string; port: number },
  segments: Map<Medium, SegmentBackend>,
  blobs: BlobMap,
  data: DataServer,
): Promise<void> {
  blobs.listen(meta);
  const [reserved, epoch] = await meta.call(RPC_OPCODE.MOUNT_EPOCH);
  if (reserved !== MMC.OK) throw new Error(`meta service refused a mount epoch (result ${reserved})`);
  data.raiseView(epoch as number);
  const [result] = await meta.mountLocal(
    options.rank,
    bound.host,
    bound.port,
    [...segments.values()].map((segment) => [
      segment.medium,
      segment.capacity,
      segment.sharedMemoryPath ?? null,
    ]),
    blobs.list(),
    epoch as number,
  );
  if (result !== MMC.OK) {
    throw new Error(
      result === MMC.ERROR
        ? `rank ${options.rank} is already mounted by another live local service`
        : `mount of rank ${options.rank} refused by the meta service (result ${result})`,
    );
  }
}

function running(
  options: LocalServiceOptions,
  initialMeta: MetaRpcClient,
  data: DataServer,
  bound: { host: string; port: number },
  segments: Map<Medium, SegmentBackend>,
  closeSegments: () => void,
  blobs: BlobMap,
): LocalService {
  let meta = initialMeta;
  let closing = false;
  let heartbeat: TimerHandle | undefined;
  let reportLost: (error: Error) => void = () => undefined;
  const metaLost = new Promise<Error>((resolve) => (reportLost = resolve));
  const beat = () => {
    heartbeat = options.clock.setTimeout(() => {
      meta.ping().catch(() => undefined);
      if (!closing) beat();
    }, options.heartbeatMs);
    (heartbeat.id as { unref?: () => void } | undefined)?.unref?.();
  };
  beat();
  const ha = splitMetaUrls(options.metaUrl).length > 1;
  const watch = (client: MetaRpcClient) =>
    client.onClose((error) => {
      if (closing) return;
      if (!ha) {
        // The meta service dropped this rank with the link: the segments' contents are no longer indexed.
        options.logger.error({ err: error, rank: options.rank }, 'meta service connection lost');
        reportLost(error);
        return;
      }
      // HA: find the new leader and re-register the blobs held here (its metadata rebuild).
      options.logger.warn({ err: error, rank: options.rank }, 'meta leader lost: re-mounting on the new one');
      void remount().catch((failure: Error) => {
        options.logger.error({ err: failure, rank: options.rank }, 'no meta leader to re-mount on');
        reportLost(failure);
      });
    });
  const remount = async () => {
    const deadline = options.clock.now() + Math.max(options.metaRetryMs, 60_000);
    for (;;) {
      const next = await connectWithRetry(options, Math.max(0, deadline - options.clock.now()));
      if (closing) return next.close();
      try {
        await mountOn(next, options, bound, segments, blobs, data);
      } catch (error) {
        // The node that answered the ping may have stepped down before the mount (NOT_LEADER): try again.
        await next.close();
        if (options.clock.now() >= deadline) throw error;
        continue;
      }
      meta = next;
      watch(next);
      options.logger.info({ rank: options.rank, blobs: blobs.list().length }, 're-mounted with the blob map');
      return;
    }
  };
  watch(meta);
  return {
    rank: options.rank,
    data: bound,
    segments,
    get view() {
      return data.view;
    },
    metaLost,
    async close() {
      if (closing) return;
      closing = true;
      if (heartbeat) options.clock.clearTimeout(heartbeat);
      // Unmount first so no new reader is sent here, then finish the transfers already started.
      if (meta.connected) await meta.unmountLocal(options.rank).catch(() => undefined);
      await data.drain();
      await meta.close();
      await data.close();
      closeSegments();
    },
  };
}

async function connectWithRetry(options: LocalServiceOptions, timeoutMs: number): Promise<MetaRpcClient> {
  try {
    return await connectToLeader(splitMetaUrls(options.metaUrl), { timeoutMs, clock: options.clock });
  } catch (error) {
    throw new Error(`cannot reach the meta service at ${options.metaUrl}: ${(error as Error).message}`);
  }
}

const segmentFilePrefix = (rank: number) => `kvforge-mmc-rank-${rank}-dram-`;

/**
 * A local service killed with -9 leaves its /dev/shm file behind (RAM nobody frees): the next start of
 * the same rank removes the files whose process is gone.
 */
function removeStaleSegmentFiles(directory: string, rank: number, logger: Logger): void {
  const prefix = segmentFilePrefix(rank);
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    try {
      unlinkSync(join(directory, name));
      logger.warn({ file: name }, 'removed the segment file of a dead local service');
    } catch {}
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
