import { BLOB_ACTION, MEDIUM, type Medium, MMC } from '../core/codes';
import type { KeyInfo } from '../core/meta-service';
import { DATA_STATUS } from '../local/data-protocol';
import { LeaderMetaClient } from '../rpc/leader-meta-client';
import { RPC_OPCODE } from '../rpc/rpc-protocol';
import { DataTransferError } from './data-lane';
import { DEFAULT_DATA_PEER_OPTIONS } from './data-peer';
import { DataRoutes } from './data-routes';
import { MemCacheError } from './mem-cache-error';

export interface MemCacheClientOptions {
  /** The meta service, `tcp://HOST:PORT`; an HA pair as a comma-separated list (the leader is followed). */
  metaUrl: string;
  /** Data connections per local service. */
  lanesPerPeer: number;
  /** Transfers are cut into slices of this many bytes, spread over the lanes. */
  sliceBytes: number;
  /** Read and write same-host segments through their /dev/shm file when the local service offers one. */
  sharedMemory: boolean;
  /** This process's rank, tried first for replicas when a put names none (-1: none). */
  rank: number;
  /** A data transfer with no reply byte for this long fails (the local service is frozen or gone). */
  transferTimeoutMs: number;
}

export const DEFAULT_MEM_CACHE_CLIENT_OPTIONS = {
  lanesPerPeer: DEFAULT_DATA_PEER_OPTIONS.lanes,
  sliceBytes: DEFAULT_DATA_PEER_OPTIONS.sliceBytes,
  sharedMemory: true,
  rank: -1,
  transferTimeoutMs: 30_000,
} as const;

export interface PutOptions {
  replicas?: number;
  medium?: 'hbm' | 'dram' | Medium;
  /** Ranks for the replicas, in order; the rest go to other ranks. */
  preferredRanks?: readonly number[];
  /** Bytes written so far over all replicas, and the total (size × replicas). */
  onProgress?: (done: number, total: number) => void;
}

export interface GetOptions {
  /** Bytes read so far and the value's size. */
  onProgress?: (done: number, total: number) => void;
}

export interface BatchGetItem {
  /** 0 (MMC_OK), or the original's error code (-3102 no such key). */
  result: number;
  value?: Buffer;
  error?: Error;
}

/** An allocation reply's blobs carry their rank's write epoch (the fence stamp); reads' blobs do not. */
type BlobTuple = [rank: number, medium: Medium, offset: number, size: number, epoch?: number];

/**
 * The memcache-hybrid client: metadata from the meta service over its RPC, bytes to and from the local
 * services that hold the blobs (data protocol, or their /dev/shm files on the same host).
 *
 * put = Alloc → write every replica → UpdateState WRITE_OK (or WRITE_FAIL on any error, so nothing
 * half-written is ever readable). get = Get (leases one replica) → read it, falling back to the other
 * replicas → READ_FINISH.
 */
export class MemCacheClient {
  private readonly routes: DataRoutes;

  private constructor(
    private readonly meta: LeaderMetaClient,
    private readonly options: MemCacheClientOptions,
  ) {
    this.routes = new DataRoutes(meta, options);
  }

  static async connect(
    input: Pick<MemCacheClientOptions, 'metaUrl'> & Partial<MemCacheClientOptions>,
  ): Promise<MemCacheClient> {
    const options = { ...DEFAULT_MEM_CACHE_CLIENT_OPTIONS, ...input };
    const client = new MemCacheClient(await LeaderMetaClient.connect(options.metaUrl), options);
    try {
      await client.routes.refresh();
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /** Stores `value` under `key`; a key already cached fails with result -3006 (MMC_DUPLICATED_OBJECT). */
  async put(key: string, value: Buffer, options: PutOptions = {}): Promise<void> {
    const [result, blobs, view] = (await this.meta.call(
      RPC_OPCODE.ALLOC,
      this.allocArgs(key, value, options),
    )) as [number, BlobTuple[], number | undefined];
    if (result !== MMC.OK) throw MemCacheError.fromResult('put', key, result);
    await this.commit(
      key,
      value,
      blobs,
      view ?? 0,
      progress(options.onProgress, value.length * blobs.length),
    );
  }

  /** One Alloc RPC for all items, parallel writes, one UpdateState RPC; per item the MMC result. */
  async batchPut(
    items: readonly { key: string; value: Buffer }[],
    options: PutOptions = {},
  ): Promise<number[]> {
    const [result, allocated, stamped] = (await this.meta.call(
      RPC_OPCODE.BATCH_ALLOC,
      items.map((item) => this.allocArgs(item.key, item.value, options)),
    )) as [number, [number, BlobTuple[]][], number | undefined];
    const view = stamped ?? 0;
    if (!Array.isArray(allocated) || allocated.length !== items.length) {
      throw MemCacheError.fromResult('batchPut', `(${items.length} keys)`, result);
    }
    const outcomes = allocated.map(([itemResult]) => itemResult);
    const writes = items.map(async (item, index) => {
      if (outcomes[index] !== MMC.OK) return;
      const blobs = (allocated[index] as [number, BlobTuple[]])[1];
      await Promise.all(blobs.map((blob) => this.writeBlob(blob, item.value, view)));
    });
    const written = await Promise.allSettled(writes);
    // One UpdateState per blob: WRITE_OK for every replica of a value written whole, else one WRITE_FAIL.
    const updates: [string, number, number, number, number][] = [];
    const updateOwners: number[] = [];
    items.forEach((item, index) => {
      if (outcomes[index] !== MMC.OK) return;
      const blobs = (allocated[index] as [number, BlobTuple[]])[1];
      if (written[index]?.status === 'fulfilled') {
        for (const [rank, medium, , , epoch] of blobs) {
          updates.push([item.key, rank, medium, BLOB_ACTION.WRITE_OK, epoch ?? view]);
          updateOwners.push(index);
        }
      } else {
        const [rank, medium, , , epoch] = blobs[0] as BlobTuple;
        updates.push([item.key, rank, medium, BLOB_ACTION.WRITE_FAIL, epoch ?? view]);
        outcomes[index] = isStaleView((written[index] as PromiseRejectedResult).reason)
          ? MMC.STALE_VIEW
          : MMC.ERROR;
      }
    });
    if (updates.length > 0) {
      const [, states] = (await this.meta.call(RPC_OPCODE.BATCH_UPDATE_STATE, updates)) as [number, number[]];
      const committed = new Set<number>();
      const firstFailure = new Map<number, number>();
      updateOwners.forEach((owner, position) => {
        const state = states[position] ?? MMC.ERROR;
        if (state === MMC.OK) committed.add(owner);
        else if (!firstFailure.has(owner)) firstFailure.set(owner, state);
      });
      for (const [owner, state] of firstFailure) if (!committed.has(owner)) outcomes[owner] = state;
    }
    return outcomes;
  }

  /** The value of `key`; MemCacheError MMC_ERR_NOT_FOUND when there is none. */
  async get(key: string, options: GetOptions = {}): Promise<Buffer> {
    const [result, size, blobs] = (await this.meta.call(RPC_OPCODE.GET_REPLICAS, key)) as [
      number,
      number,
      BlobTuple[],
    ];
    if (result !== MMC.OK) throw MemCacheError.fromResult('get', key, result);
    const target = Buffer.allocUnsafe(size);
    await this.readReplicas(key, blobs, target, progress(options.onProgress, size));
    return target;
  }

  /** Reads `key` into `target` (which must hold it); resolves with the value's size. */
  async getInto(key: string, target: Buffer): Promise<number> {
    const [result, size, blobs] = (await this.meta.call(RPC_OPCODE.GET_REPLICAS, key)) as [
      number,
      number,
      BlobTuple[],
    ];
    if (result !== MMC.OK) throw MemCacheError.fromResult('getInto', key, result);
    if (size > target.length) {
      this.finishRead(key, blobs[0] as BlobTuple);
      throw new MemCacheError(
        'MMC_ERR_BUFFER_TOO_SMALL',
        MMC.INVALID_PARAM,
        `getInto ${key}: the value is ${size} bytes, the buffer ${target.length}`,
      );
    }
    await this.readReplicas(key, blobs, target);
    return size;
  }

  /**
   * One Get RPC for all keys, parallel reads, one READ_FINISH RPC for the whole batch. The values are views
   * of one buffer allocated for the batch (holding any of them keeps that buffer alive).
   */
  async batchGet(keys: readonly string[]): Promise<BatchGetItem[]> {
    const [result, found] = (await this.meta.call(RPC_OPCODE.BATCH_GET_REPLICAS, keys)) as [
      number,
      [number, number, BlobTuple[]][],
    ];
    if (!Array.isArray(found) || found.length !== keys.length) {
      throw MemCacheError.fromResult('batchGet', `(${keys.length} keys)`, result);
    }
    let total = 0;
    for (const [itemResult, size] of found) if (itemResult === MMC.OK) total += size;
    const values = Buffer.allocUnsafe(total);
    const finished: [string, number, number, number][] = [];
    const finish = (key: string, [rank, medium]: BlobTuple) =>
      finished.push([key, rank, medium, BLOB_ACTION.READ_FINISH]);
    let at = 0;
    const items = await Promise.all(
      found.map(async ([itemResult, size, blobs], index): Promise<BatchGetItem> => {
        const key = keys[index] as string;
        if (itemResult !== MMC.OK) return { result: itemResult };
        const value = values.subarray(at, at + size);
        at += size;
        try {
          await this.readReplicas(key, blobs, value, undefined, finish);
          return { result: MMC.OK, value };
        } catch (error) {
          return { result: MMC.ERROR, error: error as Error };
        }
      }),
    );
    // Asynchronous, as READ_FINISH is for single gets: the caller does not wait for it.
    if (finished.length > 0) this.meta.call(RPC_OPCODE.BATCH_UPDATE_STATE, finished).catch(() => undefined);
    return items;
  }

  /** True when the key existed (it is gone from the meta service at once). */
  async remove(key: string): Promise<boolean> {
    const [result] = (await this.meta.call(RPC_OPCODE.REMOVE, key)) as [number];
    if (result === MMC.OK) return true;
    if (result === MMC.UNMATCHED_KEY) return false;
    throw MemCacheError.fromResult('remove', key, result);
  }

  /** True when the key has a readable replica. */
  async exists(key: string): Promise<boolean> {
    const [result] = (await this.meta.call(RPC_OPCODE.EXIST_KEY, key)) as [number];
    return result === MMC.OK;
  }

  /** Size, replica ranks and media of `key`, or undefined when there is no such key. */
  async query(key: string): Promise<KeyInfo | undefined> {
    const [result, info] = (await this.meta.call(RPC_OPCODE.QUERY, key)) as [number, KeyInfo | null];
    return result === MMC.OK && info ? info : undefined;
  }

  async keys(): Promise<string[]> {
    const [, keys] = (await this.meta.call(RPC_OPCODE.GET_ALL_KEYS)) as [number, string[]];
    return keys;
  }

  async close(): Promise<void> {
    await this.routes.close();
    await this.meta.close();
  }

  private allocArgs(key: string, value: Buffer, options: PutOptions): unknown[] {
    const medium =
      options.medium === 'hbm'
        ? MEDIUM.HBM
        : options.medium === 'dram'
          ? MEDIUM.DRAM
          : (options.medium ?? null);
    const preferred = options.preferredRanks?.length ? options.preferredRanks : this.options.rank;
    return [key, value.length, options.replicas ?? 1, preferred, medium];
  }

  /** Writes every replica, then commits; each blob's write epoch is stamped on both (the fence). */
  private async commit(
    key: string,
    value: Buffer,
    blobs: BlobTuple[],
    view: number,
    onBytes?: (bytes: number) => void,
  ): Promise<void> {
    try {
      await Promise.all(blobs.map((blob) => this.writeBlob(blob, value, view, onBytes)));
    } catch (error) {
      // WRITE_FAIL removes the whole key: no replica of a half-written value is ever readable.
      const [rank, medium, , , epoch] = blobs[0] as BlobTuple;
      await this.meta
        .call(RPC_OPCODE.UPDATE_STATE, [key, rank, medium, BLOB_ACTION.WRITE_FAIL, epoch ?? view])
        .catch(() => undefined);
      throw isStaleView(error) ? MemCacheError.staleView('put', key, error) : error;
    }
    const [, states] = (await this.meta.call(
      RPC_OPCODE.BATCH_UPDATE_STATE,
      blobs.map(([rank, medium, , , epoch]) => [key, rank, medium, BLOB_ACTION.WRITE_OK, epoch ?? view]),
    )) as [number, number[]];
    // A replica whose rank was lost meanwhile cannot commit; the value stands on the others.
    if (!states.includes(MMC.OK)) throw MemCacheError.fromResult('put', key, states[0] ?? MMC.ERROR);
  }

  /** The leased replica first; on failure the next one is leased (READ_START) and read. */
  private async readReplicas(
    key: string,
    blobs: BlobTuple[],
    target: Buffer,
    onBytes?: (bytes: number) => void,
    finish: (key: string, blob: BlobTuple) => void = (done, blob) => this.finishRead(done, blob),
  ): Promise<void> {
    const failures: string[] = [];
    for (const [index, blob] of blobs.entries()) {
      if (index > 0) {
        const [leased] = await this.meta.updateState(key, blob[0], blob[1], BLOB_ACTION.READ_START);
        if (leased !== MMC.OK) {
          failures.push(`rank ${blob[0]}: replica gone (${leased})`);
          continue;
        }
      }
      try {
        await this.readBlob(blob, target, onBytes);
        return;
      } catch (error) {
        failures.push(`rank ${blob[0]}: ${(error as Error).message}`);
      } finally {
        finish(key, blob);
      }
    }
    throw new MemCacheError(
      'MMC_ERR_NO_READABLE_REPLICA',
      MMC.ERROR,
      `get ${key}: no replica could be read (${failures.join('; ') || 'none readable'})`,
    );
  }

  private finishRead(key: string, [rank, medium]: BlobTuple): void {
    // READ_FINISH is asynchronous, as in the original: the caller does not wait for it.
    this.meta.updateState(key, rank, medium, BLOB_ACTION.READ_FINISH).catch(() => undefined);
  }

  /** `view`: the stamp when the blob carries no epoch of its own (a meta service without epochs). */
  private async writeBlob(
    [rank, medium, offset, size, epoch]: BlobTuple,
    value: Buffer,
    view: number,
    onBytes?: (bytes: number) => void,
  ): Promise<void> {
    // A known route is taken without a promise hop (4 KiB batches make this per-item cost visible).
    const route = this.routes.known(rank) ?? (await this.routes.route(rank));
    const file = route.files.get(medium);
    try {
      if (file) {
        await file.write(offset, value.subarray(0, size));
        onBytes?.(size);
      } else await route.peer.write(medium, offset, value.subarray(0, size), epoch ?? view, onBytes);
    } catch (error) {
      if (error instanceof DataTransferError && error.connectionLost) this.routes.forget(rank, route);
      throw error;
    }
  }

  private async readBlob(
    [rank, medium, offset, size]: BlobTuple,
    target: Buffer,
    onBytes?: (bytes: number) => void,
  ): Promise<void> {
    const route = this.routes.known(rank) ?? (await this.routes.route(rank));
    const file = route.files.get(medium);
    try {
      if (file) {
        await file.read(offset, size, target, 0);
        onBytes?.(size);
      } else await route.peer.read(medium, offset, size, target, 0, onBytes);
    } catch (error) {
      if (error instanceof DataTransferError && error.connectionLost) this.routes.forget(rank, route);
      throw error;
    }
  }
}

/** A local service refused the write: the range was allocated by a former meta leader. */
function isStaleView(error: unknown): boolean {
  return error instanceof DataTransferError && error.status === DATA_STATUS.STALE_VIEW;
}

/** Turns per-slice byte counts into `(done, total)` calls; undefined when nobody listens. */
function progress(
  listener: ((done: number, total: number) => void) | undefined,
  total: number,
): ((bytes: number) => void) | undefined {
  if (!listener) return undefined;
  let done = 0;
  return (bytes) => {
    done += bytes;
    listener(done, total);
  };
}
