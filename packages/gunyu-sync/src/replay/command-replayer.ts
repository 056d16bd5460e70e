import { RespWriter } from '@kvforge/resp';
import { checkpointFields } from '../core/checkpoint';
import type { CommandFilter } from '../core/command-filter';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';
import { mapDb, type ReplayOptions } from '../core/replay-options';
import { type BatchFence, FencedBatchError, isFencedError } from '../fencing/batch-fence';
import type { ClusterTransactionBatch } from './cluster-transaction-batch';
import type { SyncCounters } from './sync-counters';
import type { BatchResult } from './target-connection';
import type { TargetLink } from './target-link';

/**
 * One command of the replication stream, decoded just enough to route it: no strings but the
 * (interned) name, arguments 1 and 2 as positions in `data`.
 */
export interface StreamCommand {
  kind: 'command';
  /** Raw RESP bytes, forwarded as is. */
  data: Buffer;
  /** Upper-case command name. */
  name: string;
  /** Argument 1 (the key of keyed commands) is `data[arg1Start, arg1End)`; -1 when absent. */
  arg1Start: number;
  arg1End: number;
  /** Argument 2 (the value of a SET, read by the delay probe); -1 when absent. */
  arg2Start: number;
  arg2End: number;
  /** Source offset after this command. */
  offset: number;
}

interface RoutedCommand {
  data: Buffer;
  name: string;
  /** Target DB the command runs in. */
  db: number;
}

/** Cluster → cluster transaction mode: each batch is one script on the shard's target master. */
export interface ClusterTransactionSender {
  batch: ClusterTransactionBatch;
  send(parts: readonly Uint8Array[]): Promise<BatchResult>;
}

const MAX_IN_FLIGHT = 4;
const MULTI = Buffer.from('*1\r\n$5\r\nMULTI\r\n');
const EXEC = Buffer.from('*1\r\n$4\r\nEXEC\r\n');

/**
 * Forwards the command stream as raw RESP in batches on one ordered connection. Transaction mode
 * wraps each batch in MULTI … HSET checkpoint … EXEC so data and checkpoint move atomically; a
 * source MULTI/EXEC group is buffered whole and never split across batches.
 */
export class CommandReplayer {
  private writer = new RespWriter();
  private replies = 0;
  /** flushSoon() found batches in flight: flush when the last one is answered. */
  private flushWhenIdle = false;
  /** Transaction mode: MULTI of the pending batch is written. */
  private batchOpen = false;
  private commands = 0;
  private group: RoutedCommand[] | undefined;
  private sourceDb = 0;
  /** DB selected on the connection once everything written so far has run. */
  private targetDb: number;
  /** Offset up to which every command is in a batch or was dropped (never inside an open group). */
  private safeOffset: number;
  private checkpointedOffset: number;
  private lastCheckpointMs = 0;
  private readonly inFlight: Promise<void>[] = [];
  private failure: Error | undefined;
  private readonly runIdOf: () => string;
  private readonly probeKey: Buffer | undefined;

  constructor(
    private readonly connection: TargetLink,
    private readonly options: ReplayOptions,
    private readonly filter: CommandFilter,
    private readonly counters: SyncCounters,
    private readonly transaction: boolean,
    runId: () => string,
    start: { sourceDb: number; targetDb: number; offset: number },
    syncDelayTestKey: string,
    /** Owner check in every batch (standalone target); undefined for a cluster target. */
    private readonly fence?: BatchFence,
    /** Cluster → cluster transaction mode (the script carries the owner check). */
    private readonly atomic?: ClusterTransactionSender,
  ) {
    this.probeKey = syncDelayTestKey ? Buffer.from(syncDelayTestKey, 'latin1') : undefined;
    this.runIdOf = runId;
    this.sourceDb = start.sourceDb;
    this.targetDb = start.targetDb;
    this.safeOffset = start.offset;
    this.checkpointedOffset = start.offset;
  }

  get pendingCommands(): number {
    return this.commands;
  }

  /** Routes one command; returns a promise only when a batch had to be flushed. */
  handle(command: StreamCommand): Promise<void> | undefined {
    if (this.failure) throw this.failure;
    this.counters.receivedCommands++;
    const name = command.name;
    if (name === 'SELECT') {
      this.sourceDb = decimalAt(command.data, command.arg1Start, command.arg1End);
      if (!this.group) this.safeOffset = command.offset;
      return undefined;
    }
    if (name === 'MULTI') {
      this.group ??= [];
      return undefined;
    }
    if (name === 'EXEC') {
      const group = this.group ?? [];
      this.group = undefined;
      if (this.atomic && group.length > 0) return this.appendAtomicGroup(group, command.offset);
      if (group.length > 0) {
        if (!this.transaction) this.appendRaw(MULTI);
        for (const routed of group) this.appendCommand(routed.data, routed.db);
        if (!this.transaction) this.appendRaw(EXEC);
      }
      this.safeOffset = command.offset;
      return this.maybeFlush();
    }
    const key = command.arg1Start >= 0 ? command.data : undefined;
    if (this.filter.command(name, this.sourceDb, key, command.arg1Start, command.arg1End) === 'drop') {
      this.counters.filteredCommands++;
      if (!this.group) this.safeOffset = command.offset;
      return undefined;
    }
    if (name === 'SET' && this.probeKey) this.readProbe(command, this.probeKey);
    const db = mapDb(this.options, this.sourceDb);
    if (this.group) {
      this.group.push({ data: command.data, name, db });
      return undefined;
    }
    if (this.atomic) {
      if (!this.atomic.batch.add(command.data, name)) return this.sendOutside([command.data], command.offset);
      this.commands++;
      this.safeOffset = command.offset;
      return this.maybeFlush();
    }
    this.appendCommand(command.data, db);
    this.safeOffset = command.offset;
    return this.maybeFlush();
  }

  /** The delay probe: `SET <syncDelayTestKey> <input>_<unix ns>` sets output_sync_delay. */
  private readProbe(command: StreamCommand, probeKey: Buffer): void {
    const { data, arg1Start, arg1End, arg2Start, arg2End } = command;
    if (arg2Start < 0 || probeKey.compare(data, arg1Start, arg1End) !== 0) return;
    const value = data.toString('latin1', arg2Start, arg2End);
    const sentNs = value.slice(value.lastIndexOf('_') + 1);
    if (/^\d+$/.test(sentNs))
      this.counters.syncDelayNs = Number(BigInt(Date.now()) * 1_000_000n - BigInt(sentNs));
  }

  /**
   * The spool is empty: send what is pending now if no batch is in flight, else as soon as the last
   * one is answered. Under load this lets a batch grow for one round trip instead of writing many tiny
   * MULTI/EXEC batches; an idle stream still goes out at once.
   */
  flushSoon(): Promise<void> | undefined {
    if (this.inFlight.length === 0) return this.flush();
    this.flushWhenIdle = true;
    return undefined;
  }

  /** Sends the pending batch (and a checkpoint when due); waits while too many batches are in flight. */
  async flush(force = false): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.atomic) return this.flushAtomic(this.atomic);
    const now = Date.now();
    const checkpointMoved = this.safeOffset !== this.checkpointedOffset;
    const checkpointDue =
      checkpointMoved && (force || now - this.lastCheckpointMs >= this.options.updateCheckpointTickerMs);
    const writeCheckpoint = this.transaction ? this.commands > 0 || checkpointDue : checkpointDue;
    if (this.commands === 0 && !writeCheckpoint) return;
    const offset = this.safeOffset;
    const commands = this.commands;
    if (writeCheckpoint) {
      // The checkpoint lives in the DB the source stream is in, so a resume knows which DB to select.
      this.selectTargetDb(mapDb(this.options, this.sourceDb));
      this.openBatch();
      this.writer.writeCommand([
        'HSET',
        this.options.checkpointName,
        ...checkpointFields(this.runIdOf(), offset, BigInt(now) * 1_000_000n),
      ]);
      this.replies++;
      this.checkpointedOffset = offset;
      this.lastCheckpointMs = now;
    }
    if (this.transaction) {
      this.appendRaw(EXEC);
      this.batchOpen = false;
    } else if (this.fence) this.replies += this.fence.write(this.writer, this.targetDb, false);
    const bytes = this.writer.take(); // a view the writer never overwrites: no copy
    const replies = this.replies;
    this.replies = 0;
    this.commands = 0;
    this.counters.sentBytes += bytes.length;
    this.counters.sendOffset = offset;
    this.counters.sentCommands += commands;
    if (this.transaction) this.counters.transactionBatches++;
    await this.track(this.connection.send(bytes, replies), commands, offset);
  }

  /** Transaction mode on a cluster: the pending commands and the checkpoint as one script. */
  private async flushAtomic(atomic: ClusterTransactionSender): Promise<void> {
    if (this.commands === 0 && this.safeOffset === this.checkpointedOffset) return;
    const now = Date.now();
    const offset = this.safeOffset;
    const commands = this.commands;
    const parts = atomic.batch.take(checkpointFields(this.runIdOf(), offset, BigInt(now) * 1_000_000n));
    this.commands = 0;
    this.checkpointedOffset = offset;
    this.lastCheckpointMs = now;
    for (const part of parts) this.counters.sentBytes += part.length;
    this.counters.sendOffset = offset;
    this.counters.sentCommands += commands;
    this.counters.transactionBatches++;
    await this.track(atomic.send(parts), commands, offset);
  }

  /** Outcome of one batch; waits while too many are in flight. */
  private async track(sent: Promise<BatchResult>, commands: number, offset: number): Promise<void> {
    const done = sent
      .then((result) => {
        const fenced = result.errors.find((error) => isFencedError(error.message));
        if (fenced) {
          this.counters.batchesError++;
          throw new FencedBatchError(fenced.message);
        }
        if (this.transaction && (result.aborted || result.errors.length > 0)) {
          this.counters.batchesError++;
          throw new GunyuError(
            GUNYU_ERROR_CODES.target,
            `transaction batch failed: ${result.errors[0]?.message ?? 'EXEC aborted'}`,
          );
        }
        if (result.errors.length > 0) this.counters.batchesError++;
        else this.counters.batchesOk++;
        this.counters.failedCommands += result.errors.length;
        this.counters.successCommands += commands - result.errors.length;
        this.counters.ackOffset = offset;
        this.counters.ackTimeMs = Date.now();
      })
      .catch((error: Error) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.inFlight.splice(this.inFlight.indexOf(done), 1);
        if (this.flushWhenIdle && this.inFlight.length === 0) {
          this.flushWhenIdle = false;
          this.flush().catch((error: Error) => {
            this.failure ??= error;
          });
        }
      });
    this.inFlight.push(done);
    while (this.inFlight.length >= MAX_IN_FLIGHT) await this.inFlight[0];
    if (this.failure) throw this.failure;
  }

  /** A source MULTI…EXEC in cluster transaction mode: inside the script whole, or outside whole. */
  private appendAtomicGroup(group: readonly RoutedCommand[], offset: number): Promise<void> | undefined {
    const batch = (this.atomic as ClusterTransactionSender).batch;
    if (!group.every((routed) => batch.fits(routed.data, routed.name)))
      return this.sendOutside([MULTI, ...group.map((routed) => routed.data), EXEC], offset);
    for (const routed of group) batch.add(routed.data, routed.name);
    this.commands += group.length;
    this.safeOffset = offset;
    return this.maybeFlush();
  }

  /**
   * Cluster transaction mode, a command the script cannot run (FUNCTION, keyless, > 7000 arguments):
   * the batch before it is applied, then it goes through the router on its own, then a checkpoint
   * right behind it. Not atomic with its checkpoint: a crash in between replays it (README Gaps).
   */
  private async sendOutside(commands: readonly Buffer[], offset: number): Promise<void> {
    await this.drain();
    const writer = new RespWriter();
    for (const data of commands) writer.writeRaw(data);
    const bytes = writer.take();
    this.counters.sentBytes += bytes.length;
    this.counters.sentCommands += commands.length;
    const result = await this.connection.send(bytes, commands.length);
    this.counters.failedCommands += result.errors.length;
    this.counters.successCommands += commands.length - result.errors.length;
    if (result.errors.length > 0) this.counters.batchesError++;
    else this.counters.batchesOk++;
    this.safeOffset = offset;
    await this.drain();
  }

  /** Flushes everything and waits for every reply. */
  async drain(): Promise<void> {
    await this.flush(true);
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }

  /** Transaction mode: the first thing written into a batch is its MULTI. */
  private openBatch(): void {
    if (!this.transaction || this.batchOpen) return;
    this.batchOpen = true;
    if (this.fence) this.replies += this.fence.write(this.writer, this.targetDb, true);
    this.writer.writeRaw(MULTI);
    this.replies++;
  }

  private selectTargetDb(db: number): void {
    if (db === this.targetDb) return;
    this.openBatch();
    this.writer.writeCommand(['SELECT', String(db)]);
    this.replies++;
    this.targetDb = db;
  }

  private maybeFlush(): Promise<void> | undefined {
    const length = this.atomic ? this.atomic.batch.length : this.writer.length;
    if (this.commands >= this.options.batchCmdCount || length >= this.options.batchBufferSize)
      return this.flush();
    return undefined;
  }

  private appendCommand(data: Buffer, db: number): void {
    this.selectTargetDb(db);
    this.openBatch();
    this.writer.writeRaw(data);
    this.replies++;
    this.commands++;
  }

  private appendRaw(data: Buffer): void {
    this.writer.writeRaw(data);
    this.replies++;
  }
}

/** A non-negative decimal at `bytes[start, end)` (a SELECT index); NaN when absent or not digits. */
function decimalAt(bytes: Buffer, start: number, end: number): number {
  if (start < 0 || end <= start) return Number.NaN;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = (bytes[i] as number) - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return value;
}
