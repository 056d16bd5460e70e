import { z } from 'zod';
import type { EntryCopy } from './store';

/** A store entry between nodes (replication, migration, fallback reads): compact and positional. */
export type WireEntry = [
  key: string,
  valueJson: string,
  version: number,
  expiresAt: number,
  deleted: 0 | 1,
  epoch: number,
];

export const toWire = (entry: EntryCopy): WireEntry => [
  entry.key,
  entry.valueJson,
  entry.version,
  entry.expiresAt,
  entry.deleted ? 1 : 0,
  entry.epoch,
];

export const wireEntrySchema = z.tuple([
  z.string(),
  z.string(),
  z.number(),
  z.number(),
  z.union([z.literal(0), z.literal(1)]),
  z.number().int().nonnegative(),
]);

export const fromWire = (entry: WireEntry): EntryCopy => ({
  key: entry[0],
  valueJson: entry[1],
  version: entry[2],
  expiresAt: entry[3],
  deleted: entry[4] === 1,
  epoch: entry[5],
});
