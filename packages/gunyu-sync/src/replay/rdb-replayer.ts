import { RespWriter } from '@kvforge/resp';
import type { Logger } from '@kvforge/runtime';
import type { CommandFilter } from '../core/command-filter';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';
import { appendCommandOf } from '../core/rdb/aggregate-walker';
import { DUMP_FOOTER_BYTES, writeDumpFooter } from '../core/rdb/dump-payload';
import { RDB_TYPE } from '../core/rdb/rdb-constants';
import type { RdbEntry, RdbValuePart } from '../core/rdb/rdb-parser';
import { decodeValue, valueToCommands } from '../core/rdb/value-decoder';
import { laneOf, mapDb, type ReplayOptions, stripHashTag } from '../core/replay-options';
import { ClusterTargetConnection } from './cluster-target-connection';
import { RdbSlotBatches } from './rdb-slot-batches';
import type { SyncCounters } from './sync-counters';
import { createTargetLink, type TargetSpec } from './target-factory';
import type { TargetLink } from './target-link';

const LANE_BATCH_ENTRIES = 100;
const LANE_BATCH_BYTES = 1024 * 1024;
const LANE_MAX_IN_FLIGHT = 2;
/** A RESTORE payload above this is sent from the parser's buffer as is, not copied into a batch. */
const DIRECT_RESTORE_BYTES = 1024 * 1024;
const CRLF = Buffer.from('\r\n');
/** Elements per command when a value is rebuilt with commands (GunYu flushes every 100). */
const COMMAND_CHUNK = 100;

/**
 * What a reply of a batch answers: a SELECT (undefined), a RESTORE (its key and value found again in
 * the sent bytes, offsets relative to the batch) or a rebuild command of `key`.
 */
type ReplyTag =
  | undefined
  | {
      kind: 'restore';
      db: number;
      type: number;
      expireAtMs: number;
      keyStart: number;
      keyEnd: number;
      valueStart: number;
      valueEnd: number;
      /** The whole RESTORE (a redirected one is re-sent alone). */
      commandStart: number;
      commandEnd: number;
    }
  | { kind: 'command'; key: Buffer };

/** What a failed reply was for: the key, and for a RESTORE the value to rebuild it from. */
interface FailedReply {
  key: Buffer;
  restore?: { db: number; type: number; expireAtMs: number; value: Buffer };
}

function failedReply(tag: Exclude<ReplyTag, undefined>, sent: Buffer): FailedReply {
  if (tag.kind === 'command') return { key: tag.key };
  const { db, type, expireAtMs } = tag;
  const value = sent.subarray(tag.valueStart, tag.valueEnd);
  return { key: sent.subarray(tag.keyStart, tag.keyEnd), restore: { db, type, expireAtMs, value } };
}

interface Lane {
  connection: TargetLink;
  writer: RespWriter;
  db: number;
  replies: ReplyTag[];
  inFlight: Promise<void>[];
  /** Cluster target: RESTOREs by slot, one batch per master (undefined for a standalone target). */
  slotBatches: RdbSlotBatches<RestoreTag> | undefined;
}

type RestoreTag = Extract<ReplyTag, { kind: 'restore' }>;

const RESTORE = Buffer.from('RESTORE');
const REPLACE = Buffer.from('REPLACE');
const ABSTTL = Buffer.from('ABSTTL');
const TYPE_BYTES = Array.from({ length: 256 }, (_, type) => Uint8Array.of(type));

/**
 * Replays RDB entries as RESTORE … ABSTTL in parallel lanes (one connection each, chosen by key hash
 * so a key's commands stay ordered); falls back to plain commands on `Bad data format`, for values
 * above maxProtoBulkLen, or when RESTORE is disabled. Values the parser streams as parts become
 * commands part by part. The payload is written straight into the lane's batch (no copy of the value
 * is kept): on `Bad data format` the value is read back from the bytes that were sent.
 */
export class RdbReplayer {
  private readonly lanes: Lane[] = [];
  private readonly footer = new Uint8Array(DUMP_FOOTER_BYTES);
  /** Head and tail of direct RESTOREs (one at a time: each is awaited). */
  private readonly directWriter = new RespWriter();
  private failure: Error | undefined;
  /** The value being received as parts was filtered out: drop its remaining parts. */
  private droppingParts = false;

  constructor(
    private readonly output: TargetSpec,
    private readonly options: ReplayOptions,
    private readonly filter: CommandFilter,
    private readonly counters: SyncCounters,
    private readonly logger: Logger,
  ) {}

  async open(): Promise<void> {
    const count = Math.max(1, Math.min(512, this.options.replayRdbParallel));
    for (let i = 0; i < count; i++) {
      const connection = createTargetLink(this.output, this.counters.cluster, this.logger);
      await connection.connect();
      const lane: Lane = {
        connection,
        writer: new RespWriter(),
        db: -1,
        replies: [],
        inFlight: [],
        slotBatches: undefined,
      };
      if (connection instanceof ClusterTargetConnection)
        lane.slotBatches = new RdbSlotBatches<RestoreTag>(
          connection,
          this.counters,
          (tag, sent, message) => this.handleError(lane, failedReply(tag, sent), message),
          (error) => {
            this.failure ??= error;
          },
        );
      this.lanes.push(lane);
    }
  }

  close(): void {
    for (const lane of this.lanes) lane.connection.close();
  }

  /**
   * Queues one entry (its key/value views are only read before this returns); resolves when the lane
   * has room (backpressure on the parser, not the socket).
   */
  async add(entry: RdbEntry): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.replicated(entry)) {
      this.counters.rdbKeysFiltered++;
      return;
    }
    const key = this.options.replaceHashTag ? stripHashTag(entry.key) : entry.key;
    const db = mapDb(this.options, entry.db);
    const lane = this.laneFor(key, db);
    const payloadSize = 1 + entry.value.length + DUMP_FOOTER_BYTES;
    if (!this.options.replayRdbEnableRestore || payloadSize > this.options.maxProtoBulkLen) {
      await this.flushLane(lane);
      await Promise.all(lane.inFlight);
      await this.sendAsCommands(lane, key, db, entry.type, entry.value, entry.expireAtMs);
    } else if (payloadSize > DIRECT_RESTORE_BYTES) {
      await this.restoreDirect(lane, key, db, entry);
    } else {
      const slotBatch = lane.slotBatches?.batchFor(key);
      if (slotBatch) {
        // Routed by slot here (the key is at hand), not re-scanned by the router.
        slotBatch.replies.push(this.writeRestore(slotBatch.writer, key, db, entry));
        this.counters.rdbKeysSent++;
        return (lane.slotBatches as RdbSlotBatches<RestoreTag>).flushIfFull(slotBatch);
      }
      lane.replies.push(this.writeRestore(lane.writer, key, db, entry));
    }
    this.counters.rdbKeysSent++;
    await this.flushIfFull(lane);
  }

  /** Queues one part of a value too large to buffer, as the commands that rebuild it. */
  async addPart(part: RdbValuePart): Promise<void> {
    if (this.failure) throw this.failure;
    if (part.first) {
      this.droppingParts = !this.replicated(part);
      if (this.droppingParts) this.counters.rdbKeysFiltered++;
      else this.counters.rdbKeysSent++;
    }
    if (this.droppingParts) return;
    const key = this.options.replaceHashTag ? stripHashTag(part.key) : part.key;
    const lane = this.laneFor(key, mapDb(this.options, part.db));
    const tag: ReplyTag = { kind: 'command', key };
    const command = appendCommandOf(part.type);
    const step = command === 'ZADD' || command === 'HSET' ? 2 : 1;
    let elements = part.elements;
    if (part.first && part.type === RDB_TYPE.string) {
      this.writeTagged(lane, tag, ['SET', key, elements[0] as Buffer]);
      elements = elements.slice(1);
    } else if (part.first && this.options.keyExists === 'replace') {
      this.writeTagged(lane, tag, ['DEL', key]);
    }
    const chunk = part.type === RDB_TYPE.string ? 1 : COMMAND_CHUNK * step; // APPEND takes one value
    for (let i = 0; i < elements.length; i += chunk) {
      this.writeTagged(lane, tag, [command, key, ...elements.slice(i, i + chunk)]);
    }
    if (part.last && part.expireAtMs >= 0) {
      this.writeTagged(lane, tag, ['PEXPIREAT', key, String(part.expireAtMs)]);
    }
    // A part's element views die with the next parser push: its bytes must be in the writer by now.
    await this.flushIfFull(lane);
  }

  /** Sends what is pending and waits for every reply. */
  async drain(): Promise<void> {
    for (const lane of this.lanes) await this.flushLane(lane);
    for (const lane of this.lanes) await lane.slotBatches?.drain();
    for (const lane of this.lanes) await Promise.all(lane.inFlight);
    if (this.failure) throw this.failure;
  }

  /** The DB and key filters (the same for whole entries and streamed values). */
  private replicated(value: { db: number; key: Buffer }): boolean {
    return this.filter.dbAllowed(value.db) && this.filter.keyBytesAllowed(value.key);
  }

  private laneFor(key: Buffer, db: number): Lane {
    const lane = this.lanes[laneOf(key, this.lanes.length)] as Lane;
    if (lane.db !== db) {
      lane.writer.writeCommand(['SELECT', String(db)]);
      lane.replies.push(undefined);
      lane.db = db;
    }
    return lane;
  }

  private writeTagged(lane: Lane, tag: ReplyTag, args: readonly (string | Buffer)[]): void {
    lane.writer.writeCommand(args);
    lane.replies.push(tag);
  }

  /** `RESTORE key ttl [type][value][footer] [REPLACE] [ABSTTL]`; returns where key and value went. */
  private writeRestore(writer: RespWriter, key: Buffer, db: number, entry: RdbEntry): RestoreTag {
    const commandStart = writer.length;
    this.writeRestoreKey(writer, key, entry.expireAtMs);
    const keyEnd = writer.length - 2;
    writer.writeBulk(entry.expireAtMs >= 0 ? String(entry.expireAtMs) : '0');
    writeDumpFooter(entry.type, entry.value, this.footer);
    writer.writeBulkParts([TYPE_BYTES[entry.type] as Uint8Array, entry.value, this.footer]);
    const valueEnd = writer.length - 2 - DUMP_FOOTER_BYTES;
    this.writeRestoreOptions(writer, entry.expireAtMs);
    return {
      kind: 'restore',
      db,
      type: entry.type,
      expireAtMs: entry.expireAtMs,
      keyStart: keyEnd - key.length,
      keyEnd,
      valueStart: valueEnd - entry.value.length,
      valueEnd,
      commandStart,
      commandEnd: writer.length,
    };
  }

  /**
   * A big RESTORE goes out as [head][value as it lies in the parser's buffer][tail] and is awaited
   * before the parser moves on, so the value is never copied and a `Bad data format` can still be
   * rebuilt from it.
   */
  private async restoreDirect(lane: Lane, key: Buffer, db: number, entry: RdbEntry): Promise<void> {
    await this.flushLane(lane);
    await Promise.all(lane.inFlight);
    const writer = this.directWriter;
    this.writeRestoreKey(writer, key, entry.expireAtMs);
    writer.writeBulk(entry.expireAtMs >= 0 ? String(entry.expireAtMs) : '0');
    writer
      .writeBulkHeader(1 + entry.value.length + DUMP_FOOTER_BYTES)
      .writeRaw(TYPE_BYTES[entry.type] as Uint8Array);
    const head = writer.take();
    writeDumpFooter(entry.type, entry.value, this.footer);
    writer.writeRaw(this.footer).writeRaw(CRLF);
    this.writeRestoreOptions(writer, entry.expireAtMs);
    const tail = writer.take();
    this.counters.sentBytes += head.length + entry.value.length + tail.length;
    const result = await lane.connection.sendParts([head, entry.value, tail], 1);
    const error = result.errors[0];
    if (error) {
      const restore = { db, type: entry.type, expireAtMs: entry.expireAtMs, value: entry.value };
      await this.handleError(lane, { key, restore }, error.message);
    }
  }

  private writeRestoreKey(writer: RespWriter, key: Buffer, expireAtMs: number): void {
    const options = (this.options.keyExists === 'replace' ? 1 : 0) + (expireAtMs >= 0 ? 1 : 0);
    writer
      .writeArrayHeader(4 + options)
      .writeBulk(RESTORE)
      .writeBulk(key);
  }

  private writeRestoreOptions(writer: RespWriter, expireAtMs: number): void {
    if (this.options.keyExists === 'replace') writer.writeBulk(REPLACE);
    if (expireAtMs >= 0) writer.writeBulk(ABSTTL);
  }

  private async flushIfFull(lane: Lane): Promise<void> {
    if (lane.replies.length >= LANE_BATCH_ENTRIES || lane.writer.length >= LANE_BATCH_BYTES) {
      await this.flushLane(lane);
    }
  }

  private async flushLane(lane: Lane): Promise<void> {
    if (lane.replies.length === 0) return;
    while (lane.inFlight.length >= LANE_MAX_IN_FLIGHT) await lane.inFlight[0];
    const bytes = lane.writer.take();
    const replies = lane.replies;
    lane.replies = [];
    this.counters.sentBytes += bytes.length;
    const done = lane.connection
      .send(bytes, replies.length)
      .then(async (result) => {
        for (const error of result.errors) {
          const tag = replies[error.index];
          if (!tag)
            throw new GunyuError(GUNYU_ERROR_CODES.target, `SELECT failed on the target: ${error.message}`);
          await this.handleError(lane, failedReply(tag, bytes), error.message);
        }
      })
      .catch((error: Error) => {
        this.failure ??= error;
      })
      .finally(() => {
        lane.inFlight.splice(lane.inFlight.indexOf(done), 1);
      });
    lane.inFlight.push(done);
  }

  /** A reply error of a RESTORE (with its value) or of a rebuild command of `key`. */
  private async handleError(lane: Lane, failed: FailedReply, message: string): Promise<void> {
    const { key, restore } = failed;
    if (restore && message.includes('Bad data format')) {
      await this.sendAsCommands(lane, key, restore.db, restore.type, restore.value, restore.expireAtMs);
    } else if (restore && message.startsWith('BUSYKEY')) {
      if (this.options.keyExists === 'error') this.counters.failedCommands++;
      if (this.options.keyExistsLog || this.options.keyExists === 'error') {
        this.logger.warn({ key: key.toString('latin1') }, 'key exists on the target');
      }
    } else {
      this.counters.failedCommands++;
      this.logger.warn(
        { key: key.toString('latin1'), error: message },
        `${restore ? 'restore' : 'command'} failed`,
      );
    }
  }

  /** The command rewrite of one whole value (GunYu: RPUSH/HSET/SADD/ZADD/XADD in chunks, then the expiry). */
  private async sendAsCommands(
    lane: Lane,
    key: Buffer,
    db: number,
    type: number,
    value: Buffer,
    expireAtMs: number,
  ): Promise<void> {
    const decoded = decodeValue(type, value);
    if (decoded.kind === 'stream' && decoded.consumerGroups > 0) {
      this.logger.warn(
        { key: key.toString('latin1'), consumerGroups: decoded.consumerGroups },
        'stream rebuilt with commands: its consumer groups are not replicated',
      );
    }
    const commands = valueToCommands(key, decoded, expireAtMs, COMMAND_CHUNK);
    if (this.options.keyExists !== 'replace') commands.shift();
    const writer = new RespWriter();
    writer.writeCommand(['SELECT', String(db)]);
    for (const command of commands) writer.writeCommand(command);
    // Later batches were built assuming the lane's tracked DB: switch back to it.
    writer.writeCommand(['SELECT', String(lane.db >= 0 ? lane.db : db)]);
    const result = await lane.connection.send(writer.take(), commands.length + 2);
    for (const error of result.errors) {
      this.counters.failedCommands++;
      this.logger.warn({ key: key.toString('latin1'), error: error.message }, 'command rewrite failed');
    }
  }
}
