import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestScanner } from '@kvforge/resp';
import { AbortedError, type Clock, type Logger, SILENT_LOGGER, SYSTEM_CLOCK, sleep } from '@kvforge/runtime';
import { checkpointFields } from './core/checkpoint';
import { CommandFilter, type FilterOptions } from './core/command-filter';
import { commandName } from './core/command-name';
import { GUNYU_ERROR_CODES, GunyuError } from './core/errors';
import { type ReplayOptions, unmapDb } from './core/replay-options';
import {
  DEFAULT_SPILLING_SPOOL_OPTIONS,
  SpillingSpool,
  type SpillingSpoolOptions,
} from './core/spilling-spool';
import { FencedBatchError } from './fencing/batch-fence';
import { LeaseGuard } from './fencing/lease-guard';
import type { LeaseTiming } from './fencing/target-lease';
import { connectRedis, redisClient } from './net/redis-client';
import { deleteCheckpoints, readCheckpoint, writeCheckpointIndex } from './replay/checkpoint-store';
import { CommandReplayer } from './replay/command-replayer';
import { replayRdbPhase } from './replay/rdb-phase';
import { SPOOL_ITEM_CODEC, type SpoolItem } from './replay/spool-item';
import { SyncCounters } from './replay/sync-counters';
import type { RedisEndpoint } from './replay/target-connection';
import {
  createControlClient,
  createTargetLink,
  onEveryMaster,
  selectDatabase,
  type TargetSpec,
} from './replay/target-factory';
import { ReplicaClient, type ReplicaListener } from './replication/replica-client';
import { SessionInbox } from './session-inbox';

/** Stream phase: bytes reading may run ahead of replay before the source socket pauses. */
const READ_AHEAD_BYTES = 8 * 1024 * 1024;
/** Longest read-ahead pause without replay draining it to half, when the channel can spill to disk. */
const READ_AHEAD_STALL_MS = 1000;

export type SyncerState = 'ready_run' | 'run' | 'pause' | 'stop';

export interface SyncerOptions {
  /** `host:port` of the source node, as shown by /syncer/status. */
  inputAddress: string;
  input: RedisEndpoint;
  output: RedisEndpoint;
  /** `output.redis.type: cluster`: seed addresses of the target cluster (`output` is the first). */
  outputCluster?: readonly string[] | undefined;
  /** Announced with REPLCONF listening-port (GunYu: the port of server.listen). */
  listeningPort: number;
  replay: ReplayOptions;
  filter: FilterOptions;
  /** Key SET on the source every second to measure the end-to-end delay (empty = off). */
  syncDelayTestKey: string;
  /** Where the probe key is SET when the input is a replica (a cluster shard's master). @default input */
  probeEndpoint?: RedisEndpoint | undefined;
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
  /** The fencing lease in the target (cluster.leaseTimeout / leaseRenewInterval). @default 10 s / 3 s */
  fencing?: LeaseTiming;
  /** Time for the reconnect back-off and the batch ticker (tests may drive it). @default SYSTEM_CLOCK */
  clock?: Clock;
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
  /** Aborts the reconnect back-off, so a pause/stop never waits it out. */
  private backoff: AbortController | undefined;
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
  /** Fencing: this pipeline applies only while it owns the target's lease. */
  readonly guard: LeaseGuard;

  constructor(
    readonly options: SyncerOptions,
    private readonly logger: Logger = SILENT_LOGGER,
  ) {
    this.filter = new CommandFilter(options.filter);
    this.guard = LeaseGuard.forPipeline(
      this.target,
      options.replay.checkpointName,
      options.inputAddress,
      options.fencing ?? { leaseTimeoutMs: 10_000, leaseRenewIntervalMs: 3_000 },
      this.clock,
      logger,
    );
  }

  /** Where this syncer writes (standalone endpoint or cluster seeds). */
  get target(): TargetSpec {
    return { endpoint: this.options.output, clusterSeeds: this.options.outputCluster };
  }

  private get clock(): Clock {
    return this.options.clock ?? SYSTEM_CLOCK;
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

  /**
   * POST /syncer/handover: a leading input drains (its last checkpoint written), gives its lease to
   * the group and rejoins as a follower; a follower or a paused input has nothing to hand over.
   */
  async handover(): Promise<void> {
    if (this.guard.role !== 'leader' || (this.state !== 'run' && this.state !== 'ready_run')) return;
    await this.halt('pause');
    await this.guard.handOver();
    this.start();
  }

  /**
   * The topology watch chose another node for this shard: stop, switch the input, resume from the
   * checkpoint (the new node keeps the old replication id as master_replid2 → +CONTINUE).
   */
  async retarget(inputAddress: string, input: RedisEndpoint): Promise<void> {
    if (this.state === 'stop') return;
    const wasPaused = this.state === 'pause';
    await this.halt('pause');
    this.options.inputAddress = inputAddress;
    this.options.input = input;
    this.counters.cluster.topologyRestarts++;
    this.logger.info({ input: inputAddress }, 'source topology changed: pipeline restarted on another node');
    if (!wasPaused) this.start();
  }

  /**
   * Forces a full sync; with `flushCommand` the target is flushed first. A failing step rejects with
   * GUNYU_ERR_FULL_SYNC (HTTP 400) and never leaves replication silently stopped: before the target
   * was touched (connect, a flush a standalone target refused) the input goes back to the state it
   * had and resumes from its checkpoint; once the target may have lost data (a flush on some cluster
   * masters, checkpoint deletion) the full sync still runs, as only it makes the target correct again.
   */
  async fullSync(flushCommand: string | undefined): Promise<void> {
    const prior = this.state;
    const target = createControlClient(this.target);
    let step = 'connect to the target';
    let targetTouched = false;
    try {
      await connectRedis(target); // before pausing: an unreachable target leaves the input untouched
      await this.halt('pause');
      if (flushCommand) {
        step = flushCommand;
        targetTouched = this.options.outputCluster !== undefined;
        await onEveryMaster(target, (node) => node.call(flushCommand));
      }
      step = 'delete the checkpoints';
      targetTouched = true;
      await deleteCheckpoints(target, this.options.replay.checkpointName, [...this.knownRunIds]);
    } catch (error) {
      const reason = `full sync of ${this.options.inputAddress} failed at ${step}: ${(error as Error).message}`;
      this.logger.warn({ input: this.options.inputAddress, targetTouched }, reason);
      if (targetTouched) this.startFullSync();
      else if (prior === 'stop') this.state = 'stop';
      else if (prior !== 'pause') this.start();
      throw new GunyuError(GUNYU_ERROR_CODES.fullSync, reason);
    } finally {
      target.disconnect();
    }
    this.startFullSync();
  }

  private startFullSync(): void {
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
    this.backoff?.abort();
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
      // Fencing: wait as a follower until this process owns the input on the target.
      this.backoff = new AbortController();
      const leading = await this.guard.lead(this.backoff.signal, (message) => {
        this.lastError = message;
      });
      this.backoff = undefined;
      if (!leading) break;
      try {
        await this.runSession();
      } catch (error) {
        const state = this.state as SyncerState;
        if (state === 'pause' || state === 'stop') break;
        this.lastError = (error as Error).message;
        // Without this the local lease validity would make lead() answer 'leader' again at once.
        if (error instanceof FencedBatchError) this.guard.stepDown(error.message);
        this.counters.syncPhase = 0;
        this.logger.warn(
          { input: this.options.inputAddress, error: (error as Error).message },
          'sync session failed, retrying',
        );
      }
      const state = this.state as SyncerState;
      if (state !== 'ready_run' && state !== 'run') break;
      this.state = 'ready_run';
      this.backoff = new AbortController();
      await sleep(this.options.reconnectBackoffMs, { clock: this.clock, signal: this.backoff.signal }).catch(
        (error: unknown) => {
          if (!(error instanceof AbortedError)) throw error;
        },
      );
      this.backoff = undefined;
    }
    this.counters.syncPhase = 0;
    // A stopped pipeline hands the input over at once; a paused one lets its lease lapse.
    if (this.state === 'stop') await this.guard.release();
  }

  private async runSession(): Promise<void> {
    const { options, counters } = this;
    const replay = options.replay;
    const source = redisClient(options.input);
    const target = createControlClient(this.target);
    const commandConnection = createTargetLink(this.target, counters.cluster, this.logger);
    const spool = this.openSpool();
    this.spool = spool;
    let probeTimer: NodeJS.Timeout | undefined;
    const closers: (() => void)[] = [];
    // The replica is created below; the inbox pauses it only once data flows, after start().
    const inbox = new SessionInbox(
      spool,
      { pauseReading: () => replica.pauseReading(), resumeReading: () => replica.resumeReading() },
      counters,
      replay.batchTickerMs,
      this.clock,
    );
    const push = (item: SpoolItem): void => inbox.push(item);
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
    const close = (reason?: Error): void => {
      // Before the spool is dropped: the stream loop must end even if the source's close item is lost.
      inbox.abort(reason);
      if (probeTimer) clearInterval(probeTimer);
      for (const closer of closers) closer();
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
        inbox.finish();
        replica.stop();
        await finishedPromise;
      },
    };
    const next = (): Promise<SpoolItem | undefined> => inbox.next();
    closers.push(
      this.guard.watch((reason) => {
        this.lastError = `fencing: ${reason}`;
        close(new GunyuError(GUNYU_ERROR_CODES.target, this.lastError));
      }),
    );
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
        const probe = options.probeEndpoint ? redisClient(options.probeEndpoint) : source;
        if (probe !== source) closers.push(() => probe.disconnect());
        probeTimer = setInterval(() => {
          probe
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
        await replayRdbPhase(next, {
          target,
          output: this.target,
          replay,
          filter: this.filter,
          counters,
          logger: this.logger,
        });
        this.step = 'checkpoint';
        await selectDatabase(target, 0);
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
      // Reading pauses READ_AHEAD_BYTES ahead of replay, so catch-up checkpoints keep moving. A channel
      // with a disk pauses at most READ_AHEAD_STALL_MS without replay draining to half, then spills (a frozen
      // target must not make the source drop the syncer); a memory-only one pauses until replay takes.
      const spool = { ...DEFAULT_SPILLING_SPOOL_OPTIONS, ...this.options.spool };
      inbox.readAheadBytes = Math.min(READ_AHEAD_BYTES, spool.memoryBytes);
      inbox.readAheadStallMs = spool.maxDiskBytes === 0 ? 0 : READ_AHEAD_STALL_MS;
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
        options.outputCluster ? undefined : this.guard.fence(),
      );
      this.step = 'stream';
      for (;;) {
        const item = await next();
        if (!item) break;
        if (item.kind === 'closed') {
          if (inbox.finished) break;
          // The source went away (e.g. a promoted replica drops its sub-replicas), the target did not:
          // apply and checkpoint everything received, so the resume starts exactly after it (no
          // duplicate replay in non-transaction mode).
          this.step = 'drain';
          await replayer.drain().catch(() => {});
          throw item.error ?? new GunyuError(GUNYU_ERROR_CODES.replication, 'source connection closed');
        }
        if (item.kind === 'tick') {
          await replayer.flush();
          continue;
        }
        if (item.kind !== 'command') continue;
        const pending = replayer.handle(item);
        if (pending) await pending;
        if (inbox.length === 0) await replayer.flushSoon();
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

  /** A fresh spool; spill files a crashed process left for this input are removed first. */
  private openSpool(): SpillingSpool<SpoolItem> {
    const options = { ...DEFAULT_SPILLING_SPOOL_OPTIONS, ...this.options.spool };
    const base = options.directory ?? join(tmpdir(), 'redis-gunyu');
    const directory = join(base, this.options.inputAddress.replace(/[^\w.-]/g, '_'));
    rmSync(directory, { recursive: true, force: true });
    return new SpillingSpool(SPOOL_ITEM_CODEC, { ...options, directory });
  }
}

/** Keys in all DBs of an INFO keyspace reply (`db0:keys=12,expires=0,...`). */
function keyspaceSize(info: string): number {
  let keys = 0;
  for (const match of info.matchAll(/^db\d+:keys=(\d+)/gm)) keys += Number(match[1]);
  return keys;
}
