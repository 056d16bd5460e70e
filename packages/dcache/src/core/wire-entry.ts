import { z } from 'zod';
import type { StoreEntry } from './store';

/** A store entry between nodes (replication, migration, fallback reads): compact and positional. */
export type WireEntry = [key: string, valueJson: string, version: number, expiresAt: number, deleted: 0 | 1];

export const toWire = (entry: StoreEntry): WireEntry => [
  entry.key,
  entry.valueJson,
  entry.version,
  entry.expiresAt,
  entry.deleted ? 1 : 0,
];

export const wireEntrySchema = z.tuple([
  z.string(),
  z.string(),
  z.number(),
  z.number(),
  z.union([z.literal(0), z.literal(1)]),
]);

export const fromWire = (entry: WireEntry) => ({
  key: entry[0],
  valueJson: entry[1],
  version: entry[2],
  expiresAt: entry[3],
  deleted: entry[4] === 1,
});

/** Entries grouped by partition, in wire form (one replicate request per replica set follows). */
export function groupByPartition(entries: ReadonlyArray<StoreEntry>): Map<number, WireEntry[]> {
  const byPartition = new Map<number, WireEntry[]>();
  for (const entry of entries) {
    let list = byPartition.get(entry.partition);
    if (list === undefined) {
      list = [];
      byPartition.set(entry.partition, list);
    }
    list.push(toWire(entry));
  }
  return byPartition;
}
