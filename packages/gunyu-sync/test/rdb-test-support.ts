import { SILENT_LOGGER } from '@kvforge/runtime';
import type { RedisProcess } from '@kvforge/testing';
import { CommandFilter, DEFAULT_FILTER_OPTIONS } from '../src/core/command-filter';
import type { RdbEvent } from '../src/core/rdb/rdb-parser';
import { DEFAULT_REPLAY_OPTIONS } from '../src/core/replay-options';
import { RdbReplayer } from '../src/replay/rdb-replayer';
import type { SyncCounters } from '../src/replay/sync-counters';

/**
 * One line per parser event, to compare event sequences. Read at once: entry keys/values and part
 * elements are views valid until the parser's next push.
 */
export function describeRdbEvent(event: RdbEvent): string {
  switch (event.kind) {
    case 'entry':
      return `entry ${event.db} ${event.key.toString('hex')} ${event.type} ${event.expireAtMs} ${event.idleSeconds} ${event.frequency} ${event.value.toString('hex')}`;
    case 'value-part':
      return `part ${event.key.toString('hex')} ${event.first} ${event.last} ${event.elements.map((element) => element.toString('hex')).join(',')}`;
    case 'aux':
      return `aux ${event.key} ${event.value.toString('hex')}`;
    case 'function':
      return `function ${event.code.toString('hex')}`;
    case 'end':
      return `end ${event.checksum} ${event.computed}`;
    default:
      return JSON.stringify(event);
  }
}

/** A real RdbReplayer into `target` with default options; its warnings land in `warnings`. */
export function replayerInto(
  target: RedisProcess,
  counters: SyncCounters,
  warnings: object[],
  replayRdbParallel = 2,
): RdbReplayer {
  return new RdbReplayer(
    { host: target.host, port: target.port },
    { ...DEFAULT_REPLAY_OPTIONS, replayRdbParallel },
    new CommandFilter(DEFAULT_FILTER_OPTIONS),
    counters,
    { ...SILENT_LOGGER, warn: (object: object | string) => warnings.push(object as object) },
  );
}
