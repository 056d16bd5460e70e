import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestScanner } from '@kvforge/resp';
import { type Logger, SILENT_LOGGER } from '@kvforge/runtime';
import type { Redis } from 'ioredis';
import { checkpointFields } from './core/checkpoint';
import { CommandFilter, type FilterOptions } from './core/command-filter';
import { commandName } from './core/command-name';
import { GUNYU_ERROR_CODES, GunyuError } from './core/errors';
import { EMPTY_CHUNK, type RdbEvent, RdbParser } from './core/rdb/rdb-parser';
import { type ReplayOptions, unmapDb } from './core/replay-options';
import {
  DEFAULT_SPILLING_SPOOL_OPTIONS,
  SpillingSpool,
  type SpillingSpoolOptions,
  SpoolFullError,
} from './core/spilling-spool';
import { connectRedis, redisClient } from './net/redis-client';
import { deleteCheckpoints, readCheckpoint, writeCheckpointIndex } from './replay/checkpoint-store';
import { CommandReplayer } from './replay/command-replayer';
import { RdbReplayer } from './replay/rdb-replayer';
import { SPOOL_ITEM_CODEC, type SpoolItem, TICK } from './replay/spool-item';
import { SyncCounters } from './replay/sync-counters';
import { type RedisEndpoint, TargetConnection } from './replay/target-connection';
import { ReplicaClient, type ReplicaListener } from './replication/replica-client';

export type SyncerState = 'ready_run' | 'run' | 'pause' | 'stop';

export interface SyncerOptions {
  /** `host:port` of the source node, as shown by /syncer/status. */
  inputAddress: string;
  input: RedisEndpoint;
  output: RedisEndpoint;
  /** Announced with REPLCONF listening-port (GunYu: the port of server.listen). */
  listeningPort: number;
  replay: ReplayOptions;
  filter: FilterOptions;
  /** Key SET on the source every second to measure the end-to-end delay (empty = off). */
  syncDelayTestKey: string;
  /** Wait between reconnect attempts (GunYu: 2 s). */
  reconnectBackoffMs: number;
  /** Ask for diskless transfer with `capa eof`. */
  capaEof: boolean;
  /** Transaction mode (standalone → standalone with replayTransaction). */
  transaction: boolean;
  /** Longest graceful drain on pause/stop before connections are closed. @default 5000 */
  drainTimeoutMs?: number;
  /**
   * The spool between the source and the replay: memory up to `memoryBytes`, then spill files in
   * `<directory>/<input>` (directory default `$TMPDIR/redis-gunyu`; the input's sub-directory is
   * cleared at each session start).
   */
  spool?: Partial<SpillingSpoolOptions>;
}

/** Start of argument `index` relative to `start`, or -1. */
function argumentStart(scanner: RequestScanner, index: number, start: number): number {
  return index < scanner.argumentCount ? (scanner.argumentStarts[index] as number) - start : -1;
}

function argumentEnd(scanner: RequestScanner, index: number, start: number): number {
  return index < scanner.argumentCount ? (scanner.argumentEnds[index] as number) - start : -1;
}

/**
 * One source node → target pipeline: fake replica → in-memory spool → RDB lanes / command batches.
 * Runs until paused or stopped; any failure closes everything and retries after a back-off,
 * resuming from the checkpoint in the target.
 */
export class Syncer {
  state: SyncerState = 'ready_run';
  readonly counters = new SyncCounters();
  private readonly filter: CommandFilter;
  private loopPromise: Promise<void> | undefined;
  private session: { close(): void; finish(): Promise<void> } | undefined;
  private wakeBackoff: (() => void) | undefined;
  private forceFullSync = false;
  /** Checkpoint kept in memory when resumeFromBreakPoint is off. */
  private memoryCheckpoint: { runId: string; offset: number } | undefined;
  /** Replication ids seen (to delete their checkpoints on a forced full sync). */
  readonly knownRunIds = new Set<string>();
  lastError: string | undefined;
  /** What the current session is waiting for (named in logs when a stop cannot finish). */
  step = 'idle';
  /** The current session's spool (for the storage metrics). */
  spool: SpillingSpool<SpoolItem> | undefined;

  constructor(
    readonly options: SyncerOptions,
    private readonly logger: Logger = SILENT_LOGGER,
  ) {
    this.filter = new CommandFilter(options.filter);
  }

  get transaction(): boolean {
    return this.options.transaction;
  }

  start(): void {
    if (this.loopPromise) return;
    this.state = 'ready_run';
    this.loopPromise = this.loop().finally(() => {
      this.loopPromise = undefined;
    });
  }

  /** Stops syncing but keeps the checkpoint; `resume()` continues from it. */
  async pause(): Promise<void> {
    await this.halt('pause');
  }

  resume(): void {
    if (this.state === 'pause' || this.state === 'stop') this.start();
  }

  async stop(): Promise<void> {
    await this.halt('stop');
  }

  async restart(): Promise<void> {
    await this.halt('pause');
    this.start();
  }

  /** Forces a full sync; with `flushCommand` the target is flushed first. */
  async fullSync(flushCommand: string | undefined): Promise<void> {
    await this.halt('pause');
    const target = redisClient(this.options.output);
    try {
      await connectRedis(target);
      if (flushCommand) await target.call(flushCommand);
      await deleteCheckpoints(target, this.options.replay.checkpointName, [...this.knownRunIds]);
    } finally {
      target.disconnect();
    }
    this.memoryCheckpoint = undefined;
    this.forceFullSync = true;
    this.start();
  }

  /**
   * A session reached a running phase. A pause/stop that arrived meanwhile wins: overwriting it with
   * `run` made the loop start a new session and halt() wait for it forever.
   */
  private markRunning(): void {
    if (this.state === 'ready_run') this.state = 'run';
  }

  private async halt(state: 'pause' | 'stop'): Promise<void> {
    this.state = state;
    this.wakeBackoff?.();
    const session = this.session;
    if (session) {
      // Drain gracefully, but never wait forever on a target that stopped answering: closing the
      // connections rejects whatever is still pending and ends the session.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        session.finish(),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            this.logger.warn({ input: this.options.inputAddress }, 'graceful drain timed out; closing');
            session.close();
            resolve();
          }, this.options.drainTimeoutMs ?? 5000);
        }),
      ]);
      clearTimeout(timer);
    }
    // Closed connections end any session; should one still not end, name where it waits and let go
    // rather than hang the caller (its sockets are closed, it can do no more I/O).
    let loopTimer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      (this.loopPromise ?? Promise.resolve()).then(() => true),
      new Promise<boolean>((resolve) => {
        loopTimer = setTimeout(() => resolve(false), this.options.drainTimeoutMs ?? 5000);
      }),
    ]);
    clearTimeout(loopTimer);
    if (!ended) {
      this.logger.error(
        { input: this.options.inputAddress, step: this.step },
        'session did not end after close',
      );
      this.loopPromise = undefined;
    }
  }

  private async loop(): Promise<void> {
    while (this.state === 'ready_run' || this.state === 'run') {
      try {
        await this.runSession();
      } catch (error) {
        const state = this.state as SyncerState;
        if (state === 'pause' || state === 'stop') break;
        this.lastError = (error as Error).message;
        this.counters.syncPhase = 0;
        this.logger.warn(
          { input: this.options.inputAddress, error: (error as Error).message },
          'sync session failed, retrying',
        );
      }
      const state = this.state as SyncerState;
      if (state !== 'ready_run' && state !== 'run') break;
      this.state = 'ready_run';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.reconnectBackoffMs);
        this.wakeBackoff = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeBackoff = undefined;
    }
    this.counters.syncPhase = 0;
  }

  private async runSession(): Promise<void> {
    const { options, counters } = this;
    const replay = options.replay;
    const source = redisClient(options.input);
    const target = redisClient(options.output);
    const commandConnection = new TargetConnection(options.output);
    const spool = this.openSpool();
    this.spool = spool;
    /**
     * Items that arrived once the spool was full (disk limit, or memory in a memory-only spool): the
     * source socket is paused until the spool is empty, so nothing is dropped and the source buffers
     * (and may cut us off by client-output-buffer-limit, exactly as for a slow native replica).
     */
    const held: SpoolItem[] = [];
    let wake: (() => void) | undefined;
    let finishing = false;
    let probeTimer: NodeJS.Timeout | undefined;
    const push = (item: SpoolItem): void => {
      if (held.length === 0 && tryPush(item)) {
        wake?.();
        return;
      }
      if (held.length === 0) {
        replica.pauseReading();
        counters.spoolFullPauses++;
      }
      held.push(item);
    };
    const tryPush = (item: SpoolItem): boolean => {
      try {
        spool.push(item);
        return true;
      } catch (error) {
        if (error instanceof SpoolFullError) return false;
        throw error;
      }
    };
    const releaseHeld = (): void => {
      let released = 0;
      while (released < held.length && tryPush(held[released] as SpoolItem)) released++;
      held.splice(0, released);
      if (held.length === 0) replica.resumeReading();
    };
    const listener: ReplicaListener = {
      onFullResync: () => {},
      onContinue: () => {},
      onRdbData: (chunk) => {
        counters.rdbBytes += chunk.length;
        push({ kind: 'rdb', chunk });
      },
      onRdbEnd: () => push({ kind: 'rdb-end' }),
      onCommand: (buffer, start, end, scanner, offset) => {
        counters.inputOffset = offset;
        counters.receiveTimeMs = Date.now();
        if (scanner.argumentCount === 0) return;
        push({
          kind: 'command',
          data: buffer.subarray(start, end),
          name: commandName(buffer, scanner.argumentStarts[0] as number, scanner.argumentEnds[0] as number),
          arg1Start: argumentStart(scanner, 1, start),
          arg1End: argumentEnd(scanner, 1, start),
          arg2Start: argumentStart(scanner, 2, start),
          arg2End: argumentEnd(scanner, 2, start),
          offset,
        });
      },
      onClose: (error) => push({ kind: 'closed', error }),
    };
    const replica = new ReplicaClient(options.input, listener, {
      listeningPort: options.listeningPort,
      capaEof: options.capaEof,
    });
    let replayer: CommandReplayer | undefined;
    let finished: (() => void) | undefined;
    const finishedPromise = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const close = (): void => {
      if (probeTimer) clearInterval(probeTimer);
      replica.stop();
      commandConnection.close();
      source.disconnect();
      target.disconnect();
      spool.close();
    };
    this.session = {
      close,
      finish: async () => {
        // Graceful: stop reading, apply what was spooled, then close.
        finishing = true;
        replica.stop();
        wake?.();
        await finishedPromise;
      },
    };
    const next = async (): Promise<SpoolItem | undefined> => {
      for (;;) {
        const item = spool.shift();
        if (item) return item;
        if (held.length > 0) {
          releaseHeld();
          if (spool.length > 0) continue;
          // An item larger than the whole budget never fits: hand it over directly.
          const oversized = held.shift();
          if (held.length === 0) replica.resumeReading();
          return oversized;
        }
        if (finishing) return undefined;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(replay.batchTickerMs, 1));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        if (spool.length === 0) return TICK;
      }
    };
    try {
      this.step = 'connect';
      await Promise.all([connectRedis(source), connectRedis(target), commandConnection.connect()]);
      const info = await source.info('replication');
      const replid = /master_replid:(\w+)/.exec(info)?.[1] ?? '';
      const replid2 = /master_replid2:(\w+)/.exec(info)?.[1] ?? '';
      let checkpoint: { runId: string; offset: number; db: number } | undefined;
      if (!this.forceFullSync) {
        checkpoint = replay.resumeFromBreakPoint
          ? await readCheckpoint(target, replay.checkpointName, [replid, replid2])
          : this.memoryCheckpoint && { ...this.memoryCheckpoint, db: 0 };
      }
      this.step = 'psync';
      const mode = await replica.start(checkpoint?.runId ?? '?', checkpoint ? checkpoint.offset + 1 : -1);
      const runId = replica.replicationId;
      counters.inputOffset = replica.offset;
      this.knownRunIds.add(runId);
      this.forceFullSync = false;
      if (options.syncDelayTestKey) {
        probeTimer = setInterval(() => {
          source
            .set(options.syncDelayTestKey, `${options.inputAddress}_${BigInt(Date.now()) * 1_000_000n}`)
            .catch(() => {});
        }, 1000);
      }
      let start: { sourceDb: number; targetDb: number; offset: number };
      if (mode === 'full') {
        counters.fullSyncs++;
        counters.rdbKeysBefore = counters.rdbKeysSent + counters.rdbKeysFiltered;
        counters.rdbKeysExpected = keyspaceSize(await source.info('keyspace'));
        counters.syncPhase = 1;
        this.markRunning();
        const fullOffset = replica.offset;
        this.logger.info({ input: options.inputAddress, runId, offset: fullOffset }, 'full sync started');
        // A half-applied RDB must never look synced: drop checkpoints until the RDB is fully replayed
        // (the in-memory one too, or a retry after a corrupted RDB could PSYNC from the old offset).
        this.memoryCheckpoint = undefined;
        await deleteCheckpoints(target, replay.checkpointName, [
          runId,
          replid,
          replid2,
          checkpoint?.runId ?? '',
        ]);
        this.step = 'rdb';
        await this.replayRdb(next, target);
        this.step = 'checkpoint';
        await target.select(0);
        await writeCheckpointIndex(target, replay.checkpointName, runId);
        await target.hset(
          replay.checkpointName,
          ...checkpointFields(runId, fullOffset, BigInt(Date.now()) * 1_000_000n),
        );
        this.memoryCheckpoint = { runId, offset: fullOffset };
        counters.ackOffset = fullOffset;
        counters.sendOffset = fullOffset;
        start = { sourceDb: 0, targetDb: 0, offset: fullOffset };
        this.logger.info({ input: options.inputAddress, keys: counters.rdbKeysSent }, 'full sync done');
      } else {
        counters.incrementalSyncs++;
        const cp = checkpoint as { runId: string; offset: number; db: number };
        await writeCheckpointIndex(target, replay.checkpointName, runId);
        const selected = await commandConnection.sendCommands([['SELECT', String(cp.db)]]);
        if (selected.errors.length > 0)
          throw new GunyuError(GUNYU_ERROR_CODES.target, `SELECT ${cp.db} failed`);
        start = { sourceDb: unmapDb(replay, cp.db), targetDb: cp.db, offset: cp.offset };
        counters.ackOffset = cp.offset;
        counters.sendOffset = cp.offset;
        this.logger.info(
          { input: options.inputAddress, runId, offset: cp.offset },
          'partial resync (+CONTINUE)',
        );
      }
      counters.syncPhase = 2;
      this.markRunning();
      replayer = new CommandReplayer(
        commandConnection,
        replay,
        this.filter,
        counters,
        options.transaction,
        () => replica.replicationId,
        start,
        options.syncDelayTestKey,
      );
      this.step = 'stream';
      for (;;) {
        const item = await next();
        if (!item) break;
        if (item.kind === 'closed') {
          if (finishing) break;
          throw item.error ?? new GunyuError(GUNYU_ERROR_CODES.replication, 'source connection closed');
        }
        if (item.kind === 'tick') {
          await replayer.flush();
          continue;
        }
        if (item.kind !== 'command') continue;
        const pending = replayer.handle(item);
        if (pending) await pending;
        if (spool.length === 0) await replayer.flushSoon();
        this.memoryCheckpoint = { runId: replica.replicationId, offset: counters.ackOffset };
      }
      this.step = 'drain';
      await replayer.drain();
      this.memoryCheckpoint = { runId: replica.replicationId, offset: counters.ackOffset };
    } finally {
      close();
      finished?.();
      this.session = undefined;
    }
  }

  /** One RDB event: entries and value parts to the lanes, function libraries per `functionExists`. */
  private async applyRdbEvent(
    event: RdbEvent,
    lanes: RdbReplayer,
    target: Redis,
    functions: { flushed: boolean },
  ): Promise<void> {
    if (event.kind === 'entry') return lanes.add(event);
    if (event.kind === 'value-part') return lanes.addPart(event);
    if (event.kind !== 'function') return;
    const policy = this.options.replay.functionExists;
    if (policy === 'flush' && !functions.flushed) {
      await target.call('FUNCTION', 'FLUSH');
      functions.flushed = true;
    }
    const args = policy === '' ? ['LOAD', event.code] : ['LOAD', 'REPLACE', event.code];
    await target.call('FUNCTION', ...args).catch((error: Error) => {
      this.logger.warn({ error: error.message }, 'FUNCTION LOAD failed');
    });
  }

  /** A fresh spool; spill files a crashed process left for this input are removed first. */
  private openSpool(): SpillingSpool<SpoolItem> {
    const options = { ...DEFAULT_SPILLING_SPOOL_OPTIONS, ...this.options.spool };
    const base = options.directory ?? join(tmpdir(), 'redis-gunyu');
    const directory = join(base, this.options.inputAddress.replace(/[^\w.-]/g, '_'));
    rmSync(directory, { recursive: true, force: true });
    return new SpillingSpool(SPOOL_ITEM_CODEC, { ...options, directory });
  }

  private async replayRdb(next: () => Promise<SpoolItem | undefined>, target: Redis): Promise<void> {
    const { options, counters } = this;
    const parser = new RdbParser({
      maxPartBytesPerPush: 4 * 1024 * 1024,
      maxBufferedValueBytes: Math.min(options.replay.maxBufferedValueBytes, options.replay.maxProtoBulkLen),
    });
    const lanes = new RdbReplayer(options.output, options.replay, this.filter, counters, this.logger);
    const functions = { flushed: false };
    try {
      await lanes.open();
      for (;;) {
        const item = await next();
        if (!item) throw new GunyuError(GUNYU_ERROR_CODES.stopped, 'stopped during the full sync');
        if (item.kind === 'closed')
          throw (
            item.error ??
            new GunyuError(GUNYU_ERROR_CODES.replication, 'source closed during the RDB transfer')
          );
        if (item.kind === 'command' || item.kind === 'tick') continue;
        if (item.kind === 'rdb-end') {
          if (!parser.done)
            throw new GunyuError(
              GUNYU_ERROR_CODES.rdbCorrupted,
              'RDB transfer ended before the RDB EOF',
              parser.offset,
            );
          break;
        }
        // A value switching to parts yields at most 4 MiB of parts per push: handle them, then go on.
        let events = parser.push(item.chunk);
        for (;;) {
          for (const event of events) await this.applyRdbEvent(event, lanes, target, functions);
          if (!parser.hasMore) break;
          events = parser.push(EMPTY_CHUNK);
        }
      }
      await lanes.drain();
    } finally {
      lanes.close();
    }
  }
}

/** Keys in all DBs of an INFO keyspace reply (`db0:keys=12,expires=0,...`). */
function keyspaceSize(info: string): number {
  let keys = 0;
  for (const match of info.matchAll(/^db\d+:keys=(\d+)/gm)) keys += Number(match[1]);
  return keys;
}
