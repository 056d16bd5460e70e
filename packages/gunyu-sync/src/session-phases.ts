import type { RequestScanner } from '@kvforge/resp';
import { checkpointFields } from './core/checkpoint';
import { commandName } from './core/command-name';
import { GUNYU_ERROR_CODES, GunyuError } from './core/errors';
import { type ReplayOptions, unmapDb } from './core/replay-options';
import { deleteCheckpoints, writeCheckpointIndex } from './replay/checkpoint-store';
import type { CommandReplayer } from './replay/command-replayer';
import { type RdbPhaseContext, replayRdbPhase } from './replay/rdb-phase';
import type { SpoolItem } from './replay/spool-item';
import type { SyncCounters } from './replay/sync-counters';
import { type ControlClient, selectDatabase } from './replay/target-factory';
import type { TargetLink } from './replay/target-link';
import type { ReplicaListener } from './replication/replica-client';

/** Where the command stream starts on the target after the sync phase. */
export interface StreamStart {
  sourceDb: number;
  targetDb: number;
  offset: number;
}

/** Start of argument `index` relative to `start`, or -1. */
function argumentStart(scanner: RequestScanner, index: number, start: number): number {
  return index < scanner.argumentCount ? (scanner.argumentStarts[index] as number) - start : -1;
}

function argumentEnd(scanner: RequestScanner, index: number, start: number): number {
  return index < scanner.argumentCount ? (scanner.argumentEnds[index] as number) - start : -1;
}

/** What the fake replica hears, turned into spool items (commands decoded just enough to route). */
export function spoolingListener(counters: SyncCounters, push: (item: SpoolItem) => void): ReplicaListener {
  return {
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
}

export interface FullSyncContext extends RdbPhaseContext {
  input: string;
  runId: string;
  /** The FULLRESYNC offset: the checkpoint written once the RDB is applied. */
  offset: number;
  /** Checkpoints of these run ids are deleted first (a half-applied RDB must never look synced). */
  staleRunIds: readonly string[];
}

/** +FULLRESYNC: replay the RDB, then write the checkpoint of the FULLRESYNC offset. */
export async function fullSyncPhase(
  next: () => Promise<SpoolItem | undefined>,
  context: FullSyncContext,
): Promise<StreamStart> {
  const { target, replay, runId, offset } = context;
  await deleteCheckpoints(target, replay.checkpointName, [runId, ...context.staleRunIds]);
  await replayRdbPhase(next, context);
  await selectDatabase(target, 0);
  await writeCheckpointIndex(target, replay.checkpointName, runId);
  await target.hset(
    replay.checkpointName,
    ...checkpointFields(runId, offset, BigInt(Date.now()) * 1_000_000n),
  );
  context.counters.ackOffset = offset;
  context.counters.sendOffset = offset;
  context.logger.info({ input: context.input, keys: context.counters.rdbKeysSent }, 'full sync done');
  return { sourceDb: 0, targetDb: 0, offset };
}

/** +CONTINUE: the stream goes on in the DB the checkpoint was found in (the stream re-emits no SELECT). */
export async function partialResyncStart(
  target: ControlClient,
  link: TargetLink,
  replay: ReplayOptions,
  runId: string,
  checkpoint: { offset: number; db: number },
): Promise<StreamStart> {
  await writeCheckpointIndex(target, replay.checkpointName, runId);
  const selected = await link.sendCommands([['SELECT', String(checkpoint.db)]]);
  if (selected.errors.length > 0)
    throw new GunyuError(GUNYU_ERROR_CODES.target, `SELECT ${checkpoint.db} failed`);
  return { sourceDb: unmapDb(replay, checkpoint.db), targetDb: checkpoint.db, offset: checkpoint.offset };
}

/** What the stream loop needs from its session. */
export interface StreamLoop {
  next(): Promise<SpoolItem | undefined>;
  /** The session is finishing (pause/stop): a close is the end, not a failure. */
  finishing(): boolean;
  pending(): number;
  replayer: CommandReplayer;
  /** After each command: the offset the target has acknowledged so far. */
  applied(): void;
  setStep(step: string): void;
}

/** Replays the command stream until the session ends; a source that went away fails it (after a drain). */
export async function streamCommands(loop: StreamLoop): Promise<void> {
  const { replayer } = loop;
  for (;;) {
    const item = await loop.next();
    if (!item) break;
    if (item.kind === 'closed') {
      if (loop.finishing()) break;
      // The source went away (e.g. a promoted replica drops its sub-replicas), the target did not:
      // apply and checkpoint everything received, so the resume starts exactly after it (no
      // duplicate replay in non-transaction mode).
      loop.setStep('drain');
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
    if (loop.pending() === 0) await replayer.flushSoon();
    loop.applied();
  }
  loop.setStep('drain');
  await replayer.drain();
  loop.applied();
}
