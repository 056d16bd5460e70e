import { ManualClock } from '@kvforge/runtime';
import { describe, expect, it } from 'vitest';
import { BLOB_ACTION, BLOB_STATE, MEDIUM, MMC } from './codes';
import { MetaManager } from './meta-manager';

const KIB = 1024;

function manager(overrides = {}) {
  const clock = new ManualClock(1_000_000);
  const meta = new MetaManager({ clock, random: () => 0, ...overrides });
  return { meta, advance: (milliseconds: number) => clock.advance(milliseconds) };
}

function put(meta: MetaManager, key: string, size: number, replicas = 1) {
  const { result, object } = meta.alloc(key, { size, replicas });
  if (result !== MMC.OK || !object) return result;
  for (const blob of object.blobs) meta.updateState(key, blob.rank, blob.medium, BLOB_ACTION.WRITE_OK);
  return result;
}

describe('MetaManager', () => {
  it('without a requested medium, a value no HBM segment can hold goes to DRAM; a requested HBM still fails', () => {
    const { meta } = manager();
    meta.mount(0, MEDIUM.HBM, 16 * KIB);
    meta.mount(0, MEDIUM.DRAM, 64 * KIB);
    expect(put(meta, 'small', 4 * KIB)).toBe(MMC.OK);
    expect(meta.alloc('big', { size: 20 * KIB }).object?.medium).toBe(MEDIUM.DRAM);
    expect(meta.query('small')?.medium).toBe(MEDIUM.HBM);
    expect(meta.alloc('big-hbm', { size: 20 * KIB, medium: MEDIUM.HBM }).result).toBe(MMC.NOT_ENOUGH_MEMORY);
    expect(meta.alloc('preferred', { size: 4 * KIB, preferredRank: [0, 0] }).object?.blobs).toHaveLength(1);
  });

  it('allocates replicas on distinct ranks, preferring the writer rank and the top medium', () => {
    const { meta } = manager();
    for (const rank of [0, 1, 2]) {
      meta.mount(rank, MEDIUM.HBM, 64 * KIB);
      meta.mount(rank, MEDIUM.DRAM, 64 * KIB);
    }
    const { result, object } = meta.alloc('k', { size: 5000, replicas: 3, preferredRank: 2 });
    expect(result).toBe(MMC.OK);
    expect(object?.blobs.map((blob) => blob.rank)).toEqual([2, 0, 1]);
    expect(
      object?.blobs.every((blob) => blob.medium === MEDIUM.HBM && blob.state === BLOB_STATE.ALLOCATED),
    ).toBe(true);
    expect(meta.usage(MEDIUM.HBM).usedBytes).toBe(3 * 8192);
    expect(meta.alloc('k', { size: 1 }).result).toBe(MMC.DUPLICATED_OBJECT);
    expect(meta.alloc('too-many', { size: 1, replicas: 4 }).result).toBe(MMC.NOT_ENOUGH_MEMORY);
    expect(meta.alloc('x'.repeat(257), { size: 1 }).result).toBe(MMC.INVALID_PARAM);
    expect(meta.alloc('bad', { size: 1, replicas: 9 }).result).toBe(MMC.INVALID_PARAM);
  });

  it('walks the blob state machine: write ok, reads lease, write fail removes', () => {
    const { meta } = manager();
    meta.mount(0, MEDIUM.DRAM, 64 * KIB);
    meta.alloc('a', { size: 10 });
    expect(meta.get('a').result).toBe(MMC.ERROR); // not written yet
    expect(meta.exist('a')).toBe(MMC.OBJECT_NOT_EXISTS);
    expect(meta.updateState('a', 0, MEDIUM.DRAM, BLOB_ACTION.WRITE_OK)).toBe(MMC.OK);
    expect(meta.updateState('a', 0, MEDIUM.DRAM, BLOB_ACTION.WRITE_OK)).toBe(MMC.UNMATCHED_RET);
    expect(meta.get('a').blob?.readers).toBe(1);
    expect(meta.updateState('missing', 0, MEDIUM.DRAM, BLOB_ACTION.WRITE_OK)).toBe(MMC.UNMATCHED_KEY);
    meta.alloc('b', { size: 10 });
    expect(meta.updateState('b', 0, MEDIUM.DRAM, BLOB_ACTION.WRITE_FAIL)).toBe(MMC.OK);
    expect(meta.query('b')).toBeUndefined();
  });

  it('frees a removed blob only after its reader lease ends', () => {
    const { meta, advance } = manager();
    meta.mount(0, MEDIUM.DRAM, 64 * KIB);
    put(meta, 'a', 4096);
    meta.get('a');
    expect(meta.remove('a')).toBe(MMC.OK);
    expect(meta.query('a')).toBeUndefined();
    expect(meta.usage(MEDIUM.DRAM).usedBytes).toBe(4096);
    meta.tick();
    expect(meta.pendingFreeCount).toBe(1);
    advance(2001);
    meta.tick();
    expect(meta.usage(MEDIUM.DRAM).usedBytes).toBe(0);
    expect(meta.remove('a')).toBe(MMC.UNMATCHED_KEY);
  });

  it('reclaims an object whose writer never committed', () => {
    const { meta, advance } = manager({ allocatedTimeoutMilliseconds: 5000 });
    meta.mount(0, MEDIUM.DRAM, 64 * KIB);
    meta.alloc('zombie', { size: 100 });
    expect(meta.alloc('zombie', { size: 100 }).result).toBe(MMC.DUPLICATED_OBJECT);
    advance(5000);
    expect(meta.alloc('zombie', { size: 100 }).result).toBe(MMC.OK); // preempted by a new writer
    advance(5000);
    meta.tick();
    expect(meta.query('zombie')).toBeUndefined();
    expect(meta.usage(MEDIUM.DRAM).usedBytes).toBe(0);
  });

  it('evicts LRU objects under the low mark, skipping leased ones, demoting HBM to DRAM', () => {
    const { meta } = manager();
    meta.mount(0, MEDIUM.HBM, 40 * 4096);
    meta.mount(0, MEDIUM.DRAM, 10 * 4096);
    for (let index = 0; index < 37; index++) expect(put(meta, `k${index}`, 4096)).toBe(MMC.OK);
    meta.get('k0'); // leased and most recent
    // 37/40 > 90%: the next alloc evicts down to 80% first.
    expect(put(meta, 'new', 4096)).toBe(MMC.OK);
    const hbm = meta.usage(MEDIUM.HBM);
    expect(hbm.usedBytes * 100).toBeLessThanOrEqual(hbm.totalBytes * 80 + 4096 * 100);
    expect(meta.query('k0')?.medium).toBe(MEDIUM.HBM);
    expect(meta.query('k1')?.medium).toBe(MEDIUM.DRAM); // least recently used: demoted
    expect(meta.evictedObjects).toBeGreaterThan(0);
    expect(meta.keyCount).toBe(38);
  });

  it('counts the ranges of a running demotion as leaving: the next alloc does not demote another batch', () => {
    const { meta } = manager({ canCopyBlobs: () => true });
    meta.mount(0, MEDIUM.HBM, 100 * KIB);
    meta.mount(0, MEDIUM.DRAM, 400 * KIB);
    // 4 KiB objects: k22 finds 88 KiB used (no eviction); k23 finds 92 KiB and demotes 12 KiB (to 80 %).
    for (let index = 0; index < 24; index++) expect(put(meta, `k${index}`, 4 * KIB)).toBe(MMC.OK);
    const first = meta.takeMoves();
    expect(first.map((move) => move.key)).toEqual(['k0', 'k1', 'k2']);
    // The copies are still running, their HBM ranges still allocated (96 KiB): 84 KiB are staying.
    expect(meta.usage(MEDIUM.HBM).usedBytes).toBe(96 * KIB);
    expect(put(meta, 'k24', 4 * KIB)).toBe(MMC.OK);
    expect(meta.query('k24')?.medium).toBe(MEDIUM.HBM);
    expect(meta.takeMoves()).toHaveLength(0);
    for (const move of first) meta.completeMove(move, true);
    expect(meta.usage(MEDIUM.HBM).usedBytes).toBe(88 * KIB);
    expect(meta.query('k0')?.medium).toBe(MEDIUM.DRAM);
    // Finished moves no longer count as leaving: above the high mark again, the next alloc demotes.
    expect(put(meta, 'k25', 4 * KIB)).toBe(MMC.OK);
    expect(put(meta, 'k26', 4 * KIB)).toBe(MMC.OK);
    expect(meta.takeMoves().map((move) => move.key)).toEqual(['k3', 'k4', 'k5']);
  });

  it('evicts synchronously and retries when an alloc does not fit', () => {
    const { meta } = manager({ evictThresholdHigh: 99, evictThresholdLow: 98 });
    meta.mount(0, MEDIUM.DRAM, 4 * 4096);
    for (let index = 0; index < 4; index++) put(meta, `k${index}`, 4096);
    expect(put(meta, 'big', 8192)).toBe(MMC.OK);
    expect(meta.query('k0')).toBeUndefined();
    expect(meta.query('k1')).toBeUndefined();
    expect(meta.query('k3')).toBeDefined();
  });

  it('unmount drops the blobs of the segment and objects left without blobs', () => {
    const { meta } = manager();
    meta.mount(0, MEDIUM.DRAM, 64 * KIB);
    meta.mount(1, MEDIUM.DRAM, 64 * KIB);
    put(meta, 'both', 10, 2);
    meta.alloc('only0', { size: 10, preferredRank: 0 });
    expect(meta.unmount(0, MEDIUM.DRAM)).toBe(MMC.OK);
    expect(meta.query('both')?.blobs.map((blob) => blob.rank)).toEqual([1]);
    expect(meta.query('only0')).toBeUndefined();
    expect(meta.listSegments().map((segment) => segment.name)).toEqual(['rank-1-dram']);
    expect(meta.unmount(0, MEDIUM.DRAM)).toBe(MMC.INVALID_PARAM);
  });
});
