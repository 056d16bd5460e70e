import type { Logger } from '@kvforge/runtime';
import type { CommandFilter } from '../core/command-filter';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';
import { EMPTY_CHUNK, type RdbEvent, RdbParser } from '../core/rdb/rdb-parser';
import type { ReplayOptions } from '../core/replay-options';
import { RdbReplayer } from './rdb-replayer';
import type { SpoolItem } from './spool-item';
import type { SyncCounters } from './sync-counters';
import { type ControlClient, onEveryMaster, type TargetSpec } from './target-factory';

export interface RdbPhaseContext {
  /** A client of the target for FUNCTION LOAD/FLUSH (the keys go through the replay lanes). */
  target: ControlClient;
  output: TargetSpec;
  replay: ReplayOptions;
  filter: CommandFilter;
  counters: SyncCounters;
  logger: Logger;
}

/**
 * The full-sync phase of a session: takes spooled RDB chunks until `rdb-end`, parses them and
 * replays every key through the parallel lanes; resolves once everything is applied. A stop, a
 * closed source or an RDB that ends early rejects (the caller then never writes a checkpoint).
 */
export async function replayRdbPhase(
  next: () => Promise<SpoolItem | undefined>,
  context: RdbPhaseContext,
): Promise<void> {
  const { replay } = context;
  const parser = new RdbParser({
    maxPartBytesPerPush: 4 * 1024 * 1024,
    maxBufferedValueBytes: Math.min(replay.maxBufferedValueBytes, replay.maxProtoBulkLen),
  });
  const lanes = new RdbReplayer(context.output, replay, context.filter, context.counters, context.logger);
  const functions = { flushed: false };
  try {
    await lanes.open();
    for (;;) {
      const item = await next();
      if (!item) throw new GunyuError(GUNYU_ERROR_CODES.stopped, 'stopped during the full sync');
      if (item.kind === 'closed')
        throw (
          item.error ?? new GunyuError(GUNYU_ERROR_CODES.replication, 'source closed during the RDB transfer')
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
        for (const event of events) await applyRdbEvent(event, lanes, context, functions);
        if (!parser.hasMore) break;
        events = parser.push(EMPTY_CHUNK);
      }
    }
    await lanes.drain();
  } finally {
    lanes.close();
  }
}

/** One RDB event: entries and value parts to the lanes, function libraries per `functionExists`. */
async function applyRdbEvent(
  event: RdbEvent,
  lanes: RdbReplayer,
  context: RdbPhaseContext,
  functions: { flushed: boolean },
): Promise<void> {
  if (event.kind === 'entry') return lanes.add(event);
  if (event.kind === 'value-part') return lanes.addPart(event);
  if (event.kind !== 'function') return;
  const policy = context.replay.functionExists;
  if (policy === 'flush' && !functions.flushed) {
    await onEveryMaster(context.target, (node) => node.call('FUNCTION', 'FLUSH'));
    functions.flushed = true;
  }
  const args = policy === '' ? ['LOAD', event.code] : ['LOAD', 'REPLACE', event.code];
  await onEveryMaster(context.target, (node) => node.call('FUNCTION', ...args)).catch((error: Error) => {
    context.logger.warn({ error: error.message }, 'FUNCTION LOAD failed');
  });
}
