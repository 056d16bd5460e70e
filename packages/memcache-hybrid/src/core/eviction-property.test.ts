import { ManualClock } from '@kvforge/runtime';
import { seededRandom } from '@kvforge/testing';
import { describe, expect, it } from 'vitest';
import { BLOB_ACTION, MEDIUM, type Medium, MMC } from './codes';
import { MetaManager } from './meta-manager';
import { alignUp } from './segment-allocator';

const BLOCK = 4096;

/**
 * A seeded random workload (alloc+commit, reads that take leases, clock moves; a deep low mark, 20 %, so eviction
 * reaches recently read objects) checking after every alloc:
 * leased objects are never evicted, usage above the high mark comes back to the low mark (or to what the
 * leases pin) plus the new object, and the segments' used bytes are exactly the live objects' blobs.
 */
function runWorkload(seed: number, mediums: Medium[]) {
  const clock = new ManualClock(1_000_000);
  const random = seededRandom(seed);
  const meta = new MetaManager({ clock, random, evictThresholdHigh: 90, evictThresholdLow: 20 });
  for (const medium of mediums) {
    meta.mount(0, medium, 200 * BLOCK);
    meta.mount(1, medium, 200 * BLOCK);
  }
  const top = mediums[0] as Medium;
  const leases = new Map<string, { until: number; medium: Medium }>(); // key → lease end, medium then
  const keys: string[] = [];
  let evictionsChecked = 0;
  for (let step = 0; step < 4000; step++) {
    const choice = random();
    if (choice < 0.15) {
      clock.advance(Math.floor(random() * 1500));
      continue;
    }
    if (choice < 0.4 && keys.length > 0) {
      // Mostly recent keys, so reads land on objects still in the top medium.
      const window = random() < 0.8 ? Math.min(keys.length, 40) : keys.length;
      const key = keys[keys.length - 1 - Math.floor(random() * window)] as string;
      const read = meta.get(key);
      if (read.result === MMC.OK && read.object)
        leases.set(key, { until: clock.now() + 2000, medium: read.object.medium });
      continue;
    }
    const key = `k${step}`;
    const size = 1 + Math.floor(random() * 3 * BLOCK);
    const before = meta.usage(top);
    let pinned = 0;
    for (const [leasedKey, { until }] of leases) {
      const object = meta.query(leasedKey);
      if (until > clock.now() && object?.medium === top) pinned += alignUp(object.size) * object.blobs.length;
    }
    const { result, object } = meta.alloc(key, { size });
    if (result !== MMC.OK || !object) continue;
    for (const blob of object.blobs) meta.updateState(key, blob.rank, blob.medium, BLOB_ACTION.WRITE_OK);
    keys.push(key);
    const after = meta.usage(top);
    if (before.usedBytes * 100 > before.totalBytes * 90) {
      evictionsChecked++;
      const low = (before.totalBytes * 20) / 100;
      expect(after.usedBytes).toBeLessThanOrEqual(Math.max(low, pinned) + alignUp(size));
    }
    for (const [leasedKey, { until, medium }] of leases) {
      // Neither removed nor demoted while its lease runs.
      if (until > clock.now())
        expect(meta.query(leasedKey)?.medium, `leased ${leasedKey} evicted`).toBe(medium);
      else leases.delete(leasedKey);
    }
    expect(meta.pendingFreeCount).toBe(0);
    for (const medium of mediums) {
      let live = 0;
      for (const liveKey of meta.keys()) {
        const liveObject = meta.query(liveKey);
        if (liveObject?.medium === medium) live += alignUp(liveObject.size) * liveObject.blobs.length;
      }
      expect(meta.usage(medium).usedBytes).toBe(live);
    }
  }
  return { meta, evictionsChecked };
}

describe('eviction (seeded property)', () => {
  it('DRAM only: usage returns under the low mark, leased objects survive, no bytes leak', () => {
    for (const seed of [1, 2, 3]) {
      const { meta, evictionsChecked } = runWorkload(seed, [MEDIUM.DRAM]);
      expect(evictionsChecked).toBeGreaterThan(10);
      expect(meta.evictedObjects).toBeGreaterThan(0);
    }
  });

  it('HBM over DRAM: HBM victims are demoted, leased HBM objects stay, accounting stays exact', () => {
    for (const seed of [4, 5]) {
      const { meta, evictionsChecked } = runWorkload(seed, [MEDIUM.HBM, MEDIUM.DRAM]);
      expect(evictionsChecked).toBeGreaterThan(10);
      expect(meta.usage(MEDIUM.DRAM).usedBytes).toBeGreaterThan(0); // demoted objects live in DRAM
    }
  });
});
