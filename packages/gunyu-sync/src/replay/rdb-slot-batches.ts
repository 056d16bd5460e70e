import { RespWriter } from '@kvforge/resp';
import { parseRedirect } from '../core/cluster/command-routing';
import { keySlot } from '../core/cluster/key-slot';
import type { ClusterTargetConnection } from './cluster-target-connection';
import type { SyncCounters } from './sync-counters';
import type { BatchResult } from './target-connection';

/** Where a RESTORE lies in the bytes of its batch (offsets relative to the batch). */
export interface RestoreRange {
  commandStart: number;
  commandEnd: number;
}

/** RESTOREs of one lane for one target master, written as they come. */
export interface SlotBatch<Tag extends RestoreRange> {
  address: string;
  writer: RespWriter;
  replies: Tag[];
  inFlight: Promise<void>[];
}

const BATCH_ENTRIES = 100;
const BATCH_BYTES = 1024 * 1024;
const MAX_IN_FLIGHT = 2;

/**
 * Cluster target, full sync: a lane's RESTOREs routed by slot as they are written — one batch per
 * target master, sent straight on that master's connection, so the router never re-scans them nor
 * builds a unit per command (the profile's top cost). A reply that redirects (MOVED/ASK/TRYAGAIN)
 * re-sends that one RESTORE through the router, which follows it; a lost connection re-sends the
 * batch through the router (RESTORE of one key is idempotent with REPLACE; without it the key
 * exists, handled as keyExists says).
 */
export class RdbSlotBatches<Tag extends RestoreRange> {
  private readonly batches = new Map<string, SlotBatch<Tag>>();

  constructor(
    private readonly router: ClusterTargetConnection,
    private readonly counters: SyncCounters,
    /** A RESTORE the target refused (not a redirect): the lane's error policy. */
    private readonly onError: (tag: Tag, sent: Buffer, message: string) => Promise<void>,
    private readonly fail: (error: Error) => void,
  ) {}

  /** The batch of the master that serves `key` now; undefined sends it the router's way. */
  batchFor(key: Uint8Array): SlotBatch<Tag> | undefined {
    const address = this.router.ownerOf(keySlot(key));
    if (!address || !this.router.connectionTo(address)) return undefined;
    let batch = this.batches.get(address);
    if (!batch) {
      batch = { address, writer: new RespWriter(), replies: [], inFlight: [] };
      this.batches.set(address, batch);
    }
    return batch;
  }

  async flushIfFull(batch: SlotBatch<Tag>): Promise<void> {
    if (batch.replies.length >= BATCH_ENTRIES || batch.writer.length >= BATCH_BYTES) await this.flush(batch);
  }

  async flush(batch: SlotBatch<Tag>): Promise<void> {
    if (batch.replies.length === 0) return;
    while (batch.inFlight.length >= MAX_IN_FLIGHT) await batch.inFlight[0];
    const bytes = batch.writer.take();
    const replies = batch.replies;
    batch.replies = [];
    this.counters.sentBytes += bytes.length;
    const connection = this.router.connectionTo(batch.address);
    const sent = connection
      ? connection.send(bytes, replies.length)
      : Promise.reject(new Error(`no connection to ${batch.address}`));
    const done = sent
      .then(
        (result) => this.settle(result, bytes, replies),
        // Lost on the way (a failover): the router re-sends it where the slots are now.
        async () => this.settle(await this.router.send(bytes, replies.length), bytes, replies, false),
      )
      .catch((error: Error) => this.fail(error))
      .finally(() => {
        batch.inFlight.splice(batch.inFlight.indexOf(done), 1);
      });
    batch.inFlight.push(done);
  }

  /** Sends every pending batch and waits for all replies. */
  async drain(): Promise<void> {
    for (const batch of this.batches.values()) await this.flush(batch);
    for (const batch of this.batches.values()) await Promise.all(batch.inFlight);
  }

  private async settle(result: BatchResult, bytes: Buffer, replies: Tag[], direct = true): Promise<void> {
    for (const error of result.errors) {
      const tag = replies[error.index] as Tag;
      if (direct && parseRedirect(error.message)) {
        const again = await this.router.send(bytes.subarray(tag.commandStart, tag.commandEnd), 1);
        const refused = again.errors[0];
        if (refused) await this.onError(tag, bytes, refused.message);
        continue;
      }
      await this.onError(tag, bytes, error.message);
    }
  }
}
