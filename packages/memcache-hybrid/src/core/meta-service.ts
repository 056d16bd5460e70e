import { type BlobRecord, type RestoreOptions, type RestoreOutcome, restoreRank } from './blob-restore';
import {
  BLOB_STATE,
  type BlobAction,
  MAX_BATCH_OP_COUNT,
  MEDIUM,
  type Medium,
  MMC,
  type MmcResult,
  segmentName,
} from './codes';
import { type LocalServiceInfo, LocalServiceRegistry } from './local-services';
import { MetaManager, type MetaManagerOptions } from './meta-manager';
import type { AllocRequest, MemObject } from './meta-objects';
import { OperationCounters, type OperationId } from './operation-counters';
import { Ptracer, TRACEPOINT_ID } from './ptracer';

export interface BlobLocation {
  rank: number;
  medium: Medium;
  offset: number;
  size: number;
}

export interface KeyInfo {
  key: string;
  size: number;
  prot: number;
  numBlobs: number;
  valid: boolean;
  blobs: { rank: number; medium: Medium }[];
}

export interface StateUpdate {
  key: string;
  rank: number;
  medium: Medium;
  action: BlobAction;
}

export interface MetaServiceOptions extends MetaManagerOptions {
  ptracerEnabled: boolean;
  /** How an HA rebuild (mountLocal with a blob map) is chunked. */
  restore: Partial<RestoreOptions>;
}

const TP = TRACEPOINT_ID;
// Blobs are handed out as read-only views of the live metadata: no copy per call.
const NO_BLOBS: readonly BlobLocation[] = Object.freeze([]);

/**
 * The business API every transport calls (meta RPC, REST): each operation is counted with the spec's
 * result rules and traced with the original's tracepoints, then delegated to the MetaManager.
 */
export class MetaService {
  readonly manager: MetaManager;
  readonly counters = new OperationCounters();
  readonly tracer: Ptracer;
  /** Mounted local services by rank: their data addresses, for clients. */
  readonly localServices = new LocalServiceRegistry();

  /** Ranks whose blob maps are being adopted (an HA rebuild in progress), with its outcome. */
  readonly restoringRanks = new Map<number, Promise<RestoreOutcome>>();
  private readonly restoreOptions: Partial<RestoreOptions>;

  constructor(options: Partial<MetaServiceOptions> = {}) {
    this.manager = new MetaManager(options);
    this.tracer = new Ptracer(options.ptracerEnabled ?? true);
    this.restoreOptions = options.restore ?? {};
  }

  alloc(key: string, request: AllocRequest): { result: MmcResult; blobs: readonly BlobLocation[] } {
    // META_PUT (the handler) and META_ALLOC (the allocation) share their clock reads.
    const started = this.tracer.beginAt(TP.TP_MMC_META_ALLOC, this.tracer.begin(TP.TP_MMC_META_PUT));
    const { result, object } = this.manager.alloc(key, request);
    const ended = this.tracer.end(TP.TP_MMC_META_ALLOC, started, result === MMC.OK);
    this.tracer.end(TP.TP_MMC_META_PUT, started, result === MMC.OK, ended);
    this.counters.record('alloc', result);
    return { result, blobs: object ? object.blobs : NO_BLOBS };
  }

  batchAlloc(items: readonly { key: string; request: AllocRequest }[]): {
    result: MmcResult;
    items: { result: MmcResult; blobs: readonly BlobLocation[] }[];
  } {
    const started = this.tracer.begin(TP.TP_MMC_META_BATCH_PUT);
    if (items.length > MAX_BATCH_OP_COUNT)
      return this.rejectBatch('batch_alloc', TP.TP_MMC_META_BATCH_PUT, started);
    const results = items.map((item) => this.allocOne(item.key, item.request, TP.TP_MMC_META_MGR_ALLOC));
    return {
      result: this.finishBatch('batch_alloc', TP.TP_MMC_META_BATCH_PUT, started, results),
      items: results,
    };
  }

  get(key: string): { result: MmcResult; blob?: BlobLocation; size: number } {
    const started = this.tracer.begin(TP.TP_MMC_META_GET);
    const outcome = this.getOne(key);
    this.tracer.end(TP.TP_MMC_META_GET, started, outcome.result === MMC.OK);
    return outcome;
  }

  batchGet(keys: readonly string[]): {
    result: MmcResult;
    items: { result: MmcResult; blob?: BlobLocation; size: number }[];
  } {
    const started = this.tracer.begin(TP.TP_MMC_META_BATCH_GET);
    if (keys.length > MAX_BATCH_OP_COUNT)
      return this.rejectBatch('batch_get', TP.TP_MMC_META_BATCH_GET, started);
    const results = keys.map((key) => {
      const itemStarted = this.tracer.begin(TP.TP_MMC_META_MGR_GET);
      const outcome = this.getOne(key);
      this.tracer.end(TP.TP_MMC_META_MGR_GET, itemStarted, outcome.result === MMC.OK);
      return outcome;
    });
    return {
      result: this.finishBatch('batch_get', TP.TP_MMC_META_BATCH_GET, started, results),
      items: results,
    };
  }

  updateState(update: StateUpdate): MmcResult {
    return this.traced(TP.TP_MMC_META_UPDATE, () => this.updateOne(update));
  }

  batchUpdateState(updates: readonly StateUpdate[]): { result: MmcResult; items: MmcResult[] } {
    const started = this.tracer.begin(TP.TP_MMC_META_BATCH_UPDATE);
    if (updates.length > MAX_BATCH_OP_COUNT)
      return this.rejectBatch('batch_update_state', TP.TP_MMC_META_BATCH_UPDATE, started);
    const results = updates.map((update) => this.updateOne(update));
    const wrapped = results.map((result) => ({ result }));
    return {
      result: this.finishBatch('batch_update_state', TP.TP_MMC_META_BATCH_UPDATE, started, wrapped),
      items: results,
    };
  }

  remove(key: string): MmcResult {
    return this.traced(TP.TP_MMC_META_REMOVE, () => this.removeOne(key));
  }

  batchRemove(keys: readonly string[]): { result: MmcResult; items: MmcResult[] } {
    const started = this.tracer.begin(TP.TP_MMC_META_BATCH_REMOVE);
    if (keys.length > MAX_BATCH_OP_COUNT)
      return this.rejectBatch('batch_remove', TP.TP_MMC_META_BATCH_REMOVE, started);
    const results = keys.map((key) => this.removeOne(key));
    const wrapped = results.map((result) => ({ result }));
    return {
      result: this.finishBatch('batch_remove', TP.TP_MMC_META_BATCH_REMOVE, started, wrapped),
      items: results,
    };
  }

  removeAll(): MmcResult {
    return this.traced(TP.TP_MMC_META_REMOVE_ALL, () => {
      const result = this.manager.removeAll();
      this.counters.record('remove_all', result);
      return result;
    });
  }

  query(key: string): { result: MmcResult; info?: KeyInfo } {
    const started = this.tracer.begin(TP.TP_MMC_META_QUERY);
    const outcome = this.queryOne(key);
    this.tracer.end(TP.TP_MMC_META_QUERY, started, outcome.result === MMC.OK);
    return outcome;
  }

  /** Missing keys answer `{key, size 0, numBlobs 0, valid false}` like the original. */
  batchQuery(keys: readonly string[]): { result: MmcResult; items: KeyInfo[] } {
    const started = this.tracer.begin(TP.TP_MMC_META_BATCH_QUERY);
    if (keys.length > MAX_BATCH_OP_COUNT)
      return this.rejectBatch('batch_query', TP.TP_MMC_META_BATCH_QUERY, started);
    const outcomes = keys.map((key) => this.queryOne(key));
    const result = this.finishBatch('batch_query', TP.TP_MMC_META_BATCH_QUERY, started, outcomes);
    const items = outcomes.map(
      (outcome, index) =>
        outcome.info ?? {
          key: keys[index] as string,
          size: 0,
          prot: 0,
          numBlobs: 0,
          valid: false,
          blobs: [],
        },
    );
    return { result, items };
  }

  existKey(key: string): MmcResult {
    return this.traced(TP.TP_MMC_META_EXIST, () => this.existOne(key));
  }

  batchExistKey(keys: readonly string[]): { result: MmcResult; items: MmcResult[] } {
    const started = this.tracer.begin(TP.TP_MMC_META_BATCH_EXIST);
    if (keys.length > MAX_BATCH_OP_COUNT)
      return this.rejectBatch('batch_exist_key', TP.TP_MMC_META_BATCH_EXIST, started);
    const results = keys.map((key) => this.existOne(key));
    const wrapped = results.map((result) => ({ result }));
    return {
      result: this.finishBatch('batch_exist_key', TP.TP_MMC_META_BATCH_EXIST, started, wrapped),
      items: results,
    };
  }

  getAllKeys(): string[] {
    const keys = [...this.manager.keys()];
    this.counters.record('get_all_keys', MMC.OK);
    return keys;
  }

  mount(rank: number, medium: Medium, capacity: number): MmcResult {
    return this.traced(TP.TP_MMC_META_BM_REGISTER, () => {
      const result = this.manager.mount(rank, medium, capacity);
      this.counters.record('mount', result);
      return result;
    });
  }

  unmount(rank: number, medium: Medium): MmcResult {
    return this.traced(TP.TP_MMC_META_BM_UNREGISTER, () => {
      const result = this.manager.unmount(rank, medium);
      this.counters.record('unmount', result);
      return result;
    });
  }

  /**
   * A local service mounts all its segments at once and registers its data address. A rank already
   * held by a live local service is refused by the transport before this; a partial failure rolls back.
   * `blobs`: the HA rebuild, what the local service holds — adopted in chunks (`restoring` settles when
   * done); the rank serves allocations meanwhile, never over a range of its map (restoreRank).
   */
  mountLocal(
    info: LocalServiceInfo,
    blobs: readonly BlobRecord[] = [],
  ): { result: MmcResult; restoring?: Promise<RestoreOutcome> } {
    const mounted: Medium[] = [];
    for (const segment of info.segments) {
      const result = this.mount(info.rank, segment.medium, segment.capacity);
      if (result !== MMC.OK) {
        for (const medium of mounted) this.unmount(info.rank, medium);
        return { result };
      }
      mounted.push(segment.medium);
    }
    this.localServices.set(info);
    if (blobs.length === 0) return { result: MMC.OK };
    const restoring: Promise<RestoreOutcome> = restoreRank(
      this.manager,
      info.rank,
      blobs,
      this.manager.options.clock.now(),
      this.restoreOptions,
    ).finally(() => {
      if (this.restoringRanks.get(info.rank) === restoring) this.restoringRanks.delete(info.rank);
    });
    this.restoringRanks.set(info.rank, restoring);
    return { result: MMC.OK, restoring };
  }

  /**
   * The original's ClearResource: the rank's local service is gone (link lost, lease expired or a clean
   * unmount), so its segments and every blob on them are dropped; objects left without blobs disappear.
   */
  clearRank(rank: number): MmcResult {
    const known = this.localServices.get(rank);
    if (!known) return MMC.INVALID_PARAM;
    for (const medium of [MEDIUM.HBM, MEDIUM.DRAM] as const) {
      if (this.manager.getSegment(segmentName(rank, medium))) this.unmount(rank, medium);
    }
    this.localServices.delete(rank);
    return MMC.OK;
  }

  /** Get for a client that reads the bytes: the first readable blob is leased; the others are fallbacks. */
  getReplicas(key: string): { result: MmcResult; size: number; blobs: BlobLocation[] } {
    const started = this.tracer.begin(TP.TP_MMC_META_GET);
    const outcome = this.getReplicasOne(key);
    this.tracer.end(TP.TP_MMC_META_GET, started, outcome.result === MMC.OK);
    return outcome;
  }

  batchGetReplicas(keys: readonly string[]): {
    result: MmcResult;
    items: { result: MmcResult; size: number; blobs: BlobLocation[] }[];
  } {
    const started = this.tracer.begin(TP.TP_MMC_META_BATCH_GET);
    if (keys.length > MAX_BATCH_OP_COUNT)
      return this.rejectBatch('batch_get', TP.TP_MMC_META_BATCH_GET, started);
    const results = keys.map((key) => this.getReplicasOne(key));
    return {
      result: this.finishBatch('batch_get', TP.TP_MMC_META_BATCH_GET, started, results),
      items: results,
    };
  }

  private getReplicasOne(key: string): { result: MmcResult; size: number; blobs: BlobLocation[] } {
    const { result, object, blob } = this.manager.get(key);
    this.counters.record('get', result);
    if (!blob || !object) return { result, size: 0, blobs: [] };
    const others = object.blobs.filter((other) => other !== blob && other.state === BLOB_STATE.READABLE);
    return { result, size: object.size, blobs: [blob, ...others] };
  }

  private allocOne(
    key: string,
    request: AllocRequest,
    tracepoint: number,
  ): { result: MmcResult; blobs: readonly BlobLocation[] } {
    const started = this.tracer.begin(tracepoint);
    const { result, object } = this.manager.alloc(key, request);
    this.tracer.end(tracepoint, started, result === MMC.OK);
    this.counters.record('alloc', result);
    return { result, blobs: object ? object.blobs : NO_BLOBS };
  }

  private getOne(key: string): { result: MmcResult; blob?: BlobLocation; size: number } {
    const { result, object, blob } = this.manager.get(key);
    this.counters.record('get', result);
    return blob ? { result, blob, size: object?.size ?? 0 } : { result, size: 0 };
  }

  private updateOne(update: StateUpdate): MmcResult {
    const result = this.manager.updateState(update.key, update.rank, update.medium, update.action);
    this.counters.record('update_state', result);
    return result;
  }

  private removeOne(key: string): MmcResult {
    const result = this.manager.remove(key);
    this.counters.record('remove', result);
    return result;
  }

  private queryOne(key: string): { result: MmcResult; info?: KeyInfo } {
    const object = this.manager.query(key);
    const result = object ? MMC.OK : MMC.UNMATCHED_KEY;
    this.counters.record('query', result);
    return object ? { result, info: toKeyInfo(object) } : { result };
  }

  private existOne(key: string): MmcResult {
    const result = this.manager.exist(key);
    this.counters.record('exist_key', result);
    return result;
  }

  private traced(tracepoint: number, run: () => MmcResult): MmcResult {
    const started = this.tracer.begin(tracepoint);
    const result = run();
    this.tracer.end(tracepoint, started, result === MMC.OK);
    return result;
  }

  private finishBatch(
    id: OperationId,
    tracepoint: number,
    started: number,
    results: readonly { result: MmcResult }[],
  ): MmcResult {
    let realError = false;
    let missing = false;
    for (const { result } of results) {
      if (result === MMC.UNMATCHED_KEY) missing = true;
      else if (result !== MMC.OK) realError = true;
    }
    this.counters.recordBatch(id, realError, missing);
    this.tracer.end(tracepoint, started, !realError);
    return realError ? MMC.ERROR : MMC.OK;
  }

  private rejectBatch(
    id: OperationId,
    tracepoint: number,
    started: number,
  ): { result: MmcResult; items: never[] } {
    this.counters.recordBatch(id, true, false);
    this.tracer.end(tracepoint, started, false);
    return { result: MMC.INVALID_PARAM, items: [] };
  }
}

function toKeyInfo(object: MemObject): KeyInfo {
  return {
    key: object.key,
    size: object.size,
    prot: object.prot,
    numBlobs: object.blobs.length,
    valid: true,
    blobs: object.blobs.map((blob) => ({ rank: blob.rank, medium: blob.medium })),
  };
}
