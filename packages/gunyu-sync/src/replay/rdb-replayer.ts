import { RespWriter } from '@kvforge/resp';
import type { CommandFilter } from '../core/command-filter';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';
import { buildDumpPayload } from '../core/rdb/dump-payload';
import type { RdbEntry } from '../core/rdb/rdb-parser';
import { decodeValue, valueToCommands } from '../core/rdb/value-decoder';
import { laneOf, mapDb, type ReplayOptions, stripHashTag } from '../core/replay-options';
import type { SyncCounters } from './sync-counters';
import { type RedisEndpoint, TargetConnection } from './target-connection';

const LANE_BATCH_ENTRIES = 100;
const LANE_BATCH_BYTES = 1024 * 1024;
const LANE_MAX_IN_FLIGHT = 2;

interface Lane {
  connection: TargetConnection;
  writer: RespWriter;
  db: number;
  /** Entry for each reply of the pending batch (undefined for a SELECT). */
  replies: (RdbEntry | undefined)[];
  inFlight: Promise<void>[];
}

export interface RdbReplayerLogger {
  warn(object: object, message: string): void;
}

/**
 * Replays RDB entries as RESTORE … ABSTTL in parallel lanes (one connection each, chosen by key hash
 * so a key's commands stay ordered); falls back to plain commands on `Bad data format`, for values
 * above maxProtoBulkLen, or when RESTORE is disabled.
 */
export class RdbReplayer {
  private readonly lanes: Lane[] = [];
  private failure: Error | undefined;

  constructor(
    private readonly endpoint: RedisEndpoint,
    private readonly options: ReplayOptions,
    private readonly filter: CommandFilter,
    private readonly counters: SyncCounters,
    private readonly logger: RdbReplayerLogger,
  ) {}

  async open(): Promise<void> {
    const count = Math.max(1, Math.min(512, this.options.replayRdbParallel));
    for (let i = 0; i < count; i++) {
      const connection = new TargetConnection(this.endpoint);
      await connection.connect();
      this.lanes.push({ connection, writer: new RespWriter(), db: -1, replies: [], inFlight: [] });
    }
  }

  close(): void {
    for (const lane of this.lanes) lane.connection.close();
  }

  /** Queues one entry; resolves when the lane has room (backpressure on the parser, not the socket). */
  async add(entry: RdbEntry): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.filter.dbAllowed(entry.db) || !this.filter.keyAllowed(entry.key.toString('latin1'))) {
      this.counters.rdbKeysFiltered++;
      return;
    }
    const key = this.options.replaceHashTag ? stripHashTag(entry.key) : entry.key;
    const target = { ...entry, key, db: mapDb(this.options, entry.db) };
    const lane = this.lanes[laneOf(key, this.lanes.length)] as Lane;
    this.selectDb(lane, target.db);
    const payloadSize = entry.value.length + 11;
    if (!this.options.replayRdbEnableRestore || payloadSize > this.options.maxProtoBulkLen) {
      await this.flushLane(lane);
      await Promise.all(lane.inFlight);
      await this.sendAsCommands(lane, target);
    } else {
      const args: (string | Buffer)[] = [
        'RESTORE',
        key,
        String(Math.max(entry.expireAtMs, 0)),
        buildDumpPayload(entry.type, entry.value),
      ];
      if (this.options.keyExists === 'replace') args.push('REPLACE');
      if (entry.expireAtMs >= 0) args.push('ABSTTL');
      lane.writer.writeCommand(args);
      lane.replies.push(target);
    }
    this.counters.rdbKeysSent++;
    if (lane.replies.length >= LANE_BATCH_ENTRIES || lane.writer.length >= LANE_BATCH_BYTES) {
      await this.flushLane(lane);
    }
  }

  /** Sends what is pending and waits for every reply. */
  async drain(): Promise<void> {
    for (const lane of this.lanes) await this.flushLane(lane);
    for (const lane of this.lanes) await Promise.all(lane.inFlight);
    if (this.failure) throw this.failure;
  }

  private selectDb(lane: Lane, db: number): void {
    if (lane.db === db) return;
    lane.writer.writeCommand(['SELECT', String(db)]);
    lane.replies.push(undefined);
    lane.db = db;
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
          const entry = replies[error.index];
          if (!entry)
            throw new GunyuError(GUNYU_ERROR_CODES.target, `SELECT failed on the target: ${error.message}`);
          if (error.message.includes('Bad data format')) {
            await this.sendAsCommands(lane, entry);
          } else if (error.message.startsWith('BUSYKEY')) {
            if (this.options.keyExists === 'error') this.counters.failedCommands++;
            if (this.options.keyExistsLog || this.options.keyExists === 'error') {
              this.logger.warn({ key: entry.key.toString('latin1') }, 'key exists on the target');
            }
          } else {
            this.counters.failedCommands++;
            this.logger.warn({ key: entry.key.toString('latin1'), error: error.message }, 'RESTORE failed');
          }
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

  /** The command rewrite of one value (GunYu: RPUSH/HSET/SADD/ZADD/XADD in chunks, then the expiry). */
  private async sendAsCommands(lane: Lane, entry: RdbEntry): Promise<void> {
    const commands = valueToCommands(entry.key, decodeValue(entry.type, entry.value), entry.expireAtMs);
    if (this.options.keyExists !== 'replace') commands.shift();
    const writer = new RespWriter();
    writer.writeCommand(['SELECT', String(entry.db)]);
    for (const command of commands) writer.writeCommand(command);
    // Later batches were built assuming the lane's tracked DB: switch back to it.
    const restoreDb = lane.db >= 0 ? lane.db : entry.db;
    writer.writeCommand(['SELECT', String(restoreDb)]);
    const result = await lane.connection.send(writer.take(), commands.length + 2);
    for (const error of result.errors) {
      this.counters.failedCommands++;
      this.logger.warn({ key: entry.key.toString('latin1'), error: error.message }, 'command rewrite failed');
    }
  }
}
