import { ManualClock } from '@kvforge/runtime';
import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD_BYTES, isNewerStamp, VersionedStore } from './store';

const clock = (start = 1_000_000) => new ManualClock(start);

describe('VersionedStore', () => {
  it('sets, gets and counts hits and misses', () => {
    const store = new VersionedStore({ clock: clock() });
    store.set('a', '"1"');
    expect(store.get('a')?.valueJson).toBe('"1"');
    expect(store.get('b')).toBeUndefined();
    expect(store.snapshotStats()).toMatchObject({ hits: 1, misses: 1, entries: 1 });
  });

  it('evicts least recently used entries to stay under maxBytes', () => {
    const entryBytes = 2 * 2 + 3 * 2 + ENTRY_OVERHEAD_BYTES; // UTF-16 units of "k1" and '"v"'
    const store = new VersionedStore({ maxBytes: entryBytes * 3, clock: clock() });
    store.set('k1', '"v"');
    store.set('k2', '"v"');
    store.set('k3', '"v"');
    store.get('k1');
    store.set('k4', '"v"');
    expect(store.peek('k2')).toBeUndefined();
    expect(store.peek('k1')).toBeDefined();
    expect(store.snapshotStats().evictions).toBe(1);
    expect(store.snapshotStats().bytes).toBeLessThanOrEqual(entryBytes * 3);
  });

  it('expires entries by TTL lazily and by sweep', () => {
    const time = clock();
    const store = new VersionedStore({ clock: time });
    store.set('a', '1', 1000);
    store.set('b', '2', 1000);
    store.set('c', '3');
    time.advance(999);
    expect(store.get('a')).toBeDefined();
    time.advance(1);
    expect(store.get('a')).toBeUndefined();
    expect(store.sweepExpired()).toBe(1);
    expect(store.snapshotStats()).toMatchObject({ entries: 1, expired: 2 });
  });

  it('never lets an older copy overwrite a newer version', () => {
    const store = new VersionedStore({ clock: clock() });
    const written = store.set('a', '"new"');
    expect(
      store.applyCopy({
        key: 'a',
        valueJson: '"old"',
        epoch: 0,
        version: written.version - 1,
        expiresAt: 0,
        deleted: false,
      }),
    ).toBe(false);
    expect(store.peek('a')?.valueJson).toBe('"new"');
    expect(
      store.applyCopy({
        key: 'a',
        valueJson: '"newer"',
        epoch: 0,
        version: written.version + 1,
        expiresAt: 0,
        deleted: false,
      }),
    ).toBe(true);
    expect(store.peek('a')?.valueJson).toBe('"newer"');
  });

  it('fences by epoch: a copy stamped under an older table loses to a newer-table write, whatever its counter', () => {
    const store = new VersionedStore({ clock: clock() });
    const newer = store.set('a', '"acknowledged under epoch 7"', 0, 7);
    const stale = {
      key: 'a',
      valueJson: '"paused primary, epoch 6"',
      epoch: 6,
      expiresAt: 0,
      deleted: false,
    };
    expect(store.applyCopy({ ...stale, version: newer.version + 1_000_000 })).toBe(false);
    expect(store.peek('a')?.valueJson).toBe('"acknowledged under epoch 7"');
    expect(store.applyCopy({ ...stale, epoch: 8, version: 1, valueJson: '"epoch 8"' })).toBe(true);
    expect(store.peek('a')?.valueJson).toBe('"epoch 8"');
    expect(isNewerStamp({ epoch: 2, version: 1 }, { epoch: 1, version: 9 })).toBe(true);
    expect(isNewerStamp({ epoch: 1, version: 9 }, { epoch: 1, version: 9 })).toBe(false);
  });

  it('keeps tombstones so a late copy cannot resurrect a deleted key', () => {
    const time = clock();
    const store = new VersionedStore({ clock: time, tombstoneTtlMs: 5000 });
    const written = store.set('a', '1');
    expect(store.delete('a').existed).toBe(true);
    expect(
      store.applyCopy({
        key: 'a',
        valueJson: '1',
        epoch: 0,
        version: written.version,
        expiresAt: 0,
        deleted: false,
      }),
    ).toBe(false);
    expect(store.peek('a')).toBeUndefined();
    expect(store.snapshotStats().entries).toBe(0);
    time.advance(5000);
    store.sweepExpired();
    expect(store.peekAny('a')).toBeUndefined();
  });

  it('issues increasing versions even when the clock stands still', () => {
    const store = new VersionedStore({ clock: clock() });
    const first = store.nextVersion();
    expect(store.nextVersion()).toBeGreaterThan(first);
  });

  it('lists and drops entries by partition', () => {
    const store = new VersionedStore({ partitionCount: 7, clock: clock() });
    for (let index = 0; index < 100; index++) store.set(`key${index}`, String(index));
    let total = 0;
    for (let partition = 0; partition < 7; partition++)
      total += [...store.partitionEntries(partition)].length;
    expect(total).toBe(100);
    const size = store.partitionSize(3);
    expect(store.dropPartition(3)).toBe(size);
    expect(store.snapshotStats().entries).toBe(100 - size);
  });
});
