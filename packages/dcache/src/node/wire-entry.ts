import type { StoreEntry } from '../core/store';

/** A store entry between nodes (replication, migration, fallback reads): compact and positional. */
export type WireEntry = [key: string, valueJson: string, version: number, expiresAt: number, deleted: 0 | 1];

export const toWire = (entry: StoreEntry): WireEntry => [
  entry.key,
  entry.valueJson,
  entry.version,
  entry.expiresAt,
  entry.deleted ? 1 : 0,
];

export function isWireEntry(value: unknown): value is WireEntry {
  return (
    Array.isArray(value) &&
    value.length === 5 &&
    typeof value[0] === 'string' &&
    typeof value[1] === 'string' &&
    typeof value[2] === 'number' &&
    typeof value[3] === 'number'
  );
}

export const encodeKey = (key: string) => encodeURIComponent(key);

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
