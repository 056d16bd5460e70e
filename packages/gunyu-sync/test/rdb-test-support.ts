import { SILENT_LOGGER } from '@kvforge/runtime';
import { feedingPlans, piecesOf, type RedisProcess } from '@kvforge/testing';
import { expect } from 'vitest';
import { CommandFilter, DEFAULT_FILTER_OPTIONS } from '../src/core/command-filter';
import { EMPTY_CHUNK, type RdbEvent, RdbParser, type RdbParserOptions } from '../src/core/rdb/rdb-parser';
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
    { endpoint: { host: target.host, port: target.port } },
    { ...DEFAULT_REPLAY_OPTIONS, replayRdbParallel },
    new CommandFilter(DEFAULT_FILTER_OPTIONS),
    counters,
    { ...SILENT_LOGGER, warn: (object: object | string) => warnings.push(object as object) },
  );
}

/** Described events of `pieces` pushed one by one (described at once: their views live until the next push). */
export function eventsFedAs(
  pieces: readonly Buffer[],
  options: Partial<RdbParserOptions> = {},
): { events: string[]; done: boolean } {
  const parser = new RdbParser(options);
  const events: string[] = [];
  for (const piece of pieces) {
    let pushed = parser.push(piece);
    for (;;) {
      for (const event of pushed) events.push(describeRdbEvent(event));
      if (!parser.hasMore) break;
      pushed = parser.push(EMPTY_CHUNK);
    }
  }
  return { events, done: parser.done };
}

/**
 * The streaming-parser rule: `file` fed whole, byte by byte and at the seeded random splits of
 * @kvforge/testing's feedingPlans (for each of `seeds`) yields the same events as fed whole.
 */
export function expectSameEventsUnderEveryFeeding(
  file: Buffer,
  options: Partial<RdbParserOptions> = {},
  seeds: readonly number[] = [1, 2, 3],
): void {
  const expected = eventsFedAs([file], options).events;
  expect(expected.at(-1)).toMatch(/^end /);
  const plans = seeds.flatMap((seed) =>
    feedingPlans(file.length, seed).filter((plan) => seed === seeds[0] || plan.name.startsWith('random')),
  );
  for (const plan of plans) {
    const fed = eventsFedAs(piecesOf(file, plan.cuts), options);
    expect(fed.done, plan.name).toBe(true);
    expect(fed.events, plan.name).toEqual(expected);
  }
}
