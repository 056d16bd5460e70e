import { hashKey } from './hash';
import type { EntryCopy } from './store';

/**
 * One number summarising a partition's entries: the sum (mod 2^32) of a hash of each entry's key
 * and stamp. Order-independent, so two holders compare partitions without sorting or sending
 * keys; equal digests mean equal contents (up to hash collisions). Entries already expired at
 * `now` are left out: when each holder's sweep removes them differs.
 */
export function partitionDigest(entries: Iterable<Omit<EntryCopy, 'valueJson'>>, now: number): number {
  let digest = 0;
  for (const entry of entries) {
    if (entry.expiresAt !== 0 && entry.expiresAt <= now) continue;
    const stamp = `${entry.key}\u0000${entry.epoch}:${entry.version}${entry.deleted ? 'd' : ''}`;
    digest = (digest + hashKey(stamp)) >>> 0;
  }
  return digest;
}
