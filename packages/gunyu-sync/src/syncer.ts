import { AbortedError, type Clock, type Logger, SILENT_LOGGER, SYSTEM_CLOCK, sleep } from '@kvforge/runtime';
import { CommandFilter } from './core/command-filter';
import { GUNYU_ERROR_CODES, GunyuError } from './core/errors';
import type { SpillingSpool } from './core/spilling-spool';
import { FencedBatchError } from './fencing/batch-fence';
import { LeaseGuard } from './fencing/lease-guard';
import { clearTargetForFullSync } from './full-sync-request';
import { connectRedis } from './net/redis-client';
import { ClusterTargetConnection } from './replay/cluster-target-connection';
import { CommandReplayer } from './replay/command-replayer';
import type { SpoolItem } from './replay/spool-item';
import { SyncCounters } from './replay/sync-counters';
import type { RedisEndpoint } from './replay/target-connection';
import type { TargetSpec } from './replay/target-factory';
import { findSessionStart, type ResumePoint } from './resume-point';
import { drainSession, loopEnded, type RunningSession } from './session-drain';
import { SessionLinks } from './session-links';
import { fullSyncPhase, partialResyncStart, type StreamStart, streamCommands } from './session-phases';
import { clusterTransactionSender, keyspaceSize, limitReadAhead, startDelayProbe } from './session-resources';
import type { SyncerOptions, SyncerState } from './syncer-options';

export type { SyncerOptions, SyncerState } from './syncer-options';

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
  private session: RunningSession | undefined;
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
  private sessionTransaction: boolean;

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
      options.shardSlots,
    );
    this.sessionTransaction = options.transaction && !options.transactionMode;
  }

  /** Where this syncer writes (standalone endpoint or cluster seeds). */
  get target(): TargetSpec {
    return { endpoint: this.options.output, clusterSeeds: this.options.outputCluster };
  }

  private get clock(): Clock {
    return this.options.clock ?? SYSTEM_CLOCK;
  }

  /** The mode of the current (or last) session: /syncer/status `Transaction`. */
  get transaction(): boolean {
    return this.sessionTransaction;
  }

  /**
   * The topology watch computed the cluster → cluster mode: a running pipeline in the other mode
   * restarts (drained, checkpointed) and its next session starts in the new one.
   */
  async reevaluateTransaction(allowed: boolean): Promise<void> {
    if (!this.options.transactionMode || this.sessionTransaction === allowed) return;
    if (this.state !== 'run' && this.state !== 'ready_run') return;
    this.logger.info({ input: this.options.inputAddress, transaction: allowed }, 'transaction mode changes');
    await this.restart();
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
    const failure = await clearTargetForFullSync(
      {
        target: this.target,
        flushCommand,
        checkpointName: this.options.replay.checkpointName,
        runIds: [...this.knownRunIds],
      },
      () => this.halt('pause'),
    );
    if (failure) {
      const { step, targetTouched, error } = failure;
      const reason = `full sync of ${this.options.inputAddress} failed at ${step}: ${error.message}`;
      this.logger.warn({ input: this.options.inputAddress, targetTouched }, reason);
      if (targetTouched) this.startFullSync();
      else if (prior === 'stop') this.state = 'stop';
      else if (prior !== 'pause') this.start();
      throw new GunyuError(GUNYU_ERROR_CODES.fullSync, reason);
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
    const drainTimeoutMs = this.options.drainTimeoutMs ?? 5000;
    if (this.session) {
      await drainSession(this.session, drainTimeoutMs, () => {
        this.logger.warn({ input: this.options.inputAddress }, 'graceful drain timed out; closing');
      });
    }
    // Closed connections end any session; should one still not end, name where it waits and let go
    // rather than hang the caller (its sockets are closed, it can do no more I/O).
    const ended = await loopEnded(this.loopPromise, drainTimeoutMs);
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
    // Cluster → cluster: transaction mode only while both layouts are identical and stable (re-read
    // at every session start, so a failed transaction batch re-evaluates it).
    this.sessionTransaction = options.transactionMode
      ? await options.transactionMode().catch(() => false)
      : options.transaction;
    const links = new SessionLinks(options, this.target, counters, this.clock, this.logger);
    const { source, target, commandConnection, inbox, replica } = links;
    this.spool = links.spool;
    this.session = links;
    const next = (): Promise<SpoolItem | undefined> => inbox.next();
    links.closers.push(
      this.guard.watch((reason) => {
        this.lastError = `fencing: ${reason}`;
        links.close(new GunyuError(GUNYU_ERROR_CODES.target, this.lastError));
      }),
    );
    try {
      this.step = 'connect';
      await Promise.all([connectRedis(source), connectRedis(target), commandConnection.connect()]);
      const { replid, replid2, checkpoint } = await findSessionStart(
        source,
        target,
        replay,
        this.memoryCheckpoint,
        this.forceFullSync,
      );
      this.step = 'psync';
      const mode = await replica.start(checkpoint?.runId ?? '?', checkpoint ? checkpoint.offset + 1 : -1);
      const runId = replica.replicationId;
      counters.inputOffset = replica.offset;
      this.knownRunIds.add(runId);
      this.forceFullSync = false;
      if (options.syncDelayTestKey) links.probeTimer = startDelayProbe(options, source, links.closers);
      let start: StreamStart;
      if (mode === 'full') {
        counters.fullSyncs++;
        counters.rdbKeysBefore = counters.rdbKeysSent + counters.rdbKeysFiltered;
        counters.rdbKeysExpected = keyspaceSize(await source.info('keyspace'));
        counters.syncPhase = 1;
        this.markRunning();
        const offset = replica.offset;
        this.logger.info({ input: options.inputAddress, runId, offset }, 'full sync started');
        // The in-memory checkpoint too, or a retry after a corrupted RDB could PSYNC from the old offset.
        this.memoryCheckpoint = undefined;
        this.step = 'rdb';
        start = await fullSyncPhase(next, {
          input: options.inputAddress,
          target,
          output: this.target,
          replay,
          filter: this.filter,
          counters,
          logger: this.logger,
          runId,
          offset,
          staleRunIds: [replid, replid2, checkpoint?.runId ?? ''],
        });
        this.memoryCheckpoint = { runId, offset };
      } else {
        counters.incrementalSyncs++;
        const resumed = checkpoint as ResumePoint;
        start = await partialResyncStart(target, commandConnection, replay, runId, resumed);
        counters.ackOffset = resumed.offset;
        counters.sendOffset = resumed.offset;
        this.logger.info(
          { input: options.inputAddress, runId, offset: resumed.offset },
          'partial resync (+CONTINUE)',
        );
      }
      counters.syncPhase = 2;
      limitReadAhead(inbox, options.spool);
      this.markRunning();
      const replayer = new CommandReplayer(
        commandConnection,
        replay,
        this.filter,
        counters,
        this.sessionTransaction,
        () => replica.replicationId,
        start,
        options.syncDelayTestKey,
        options.outputCluster ? undefined : this.guard.fence(),
        this.sessionTransaction && commandConnection instanceof ClusterTargetConnection
          ? clusterTransactionSender(commandConnection, this.guard, replay.checkpointName)
          : undefined,
      );
      this.step = 'stream';
      await streamCommands({
        next,
        finishing: () => inbox.finished,
        pending: () => inbox.length,
        replayer,
        applied: () => {
          this.memoryCheckpoint = { runId: replica.replicationId, offset: counters.ackOffset };
        },
        setStep: (step) => {
          this.step = step;
        },
      });
    } finally {
      links.close();
      links.markFinished();
      this.session = undefined;
    }
  }
}
