import { describe, expect, it } from 'vitest';
import { partitionDigest } from './partition-digest';

const entry = (
  key: string,
  version: number,
  extra: { epoch?: number; deleted?: boolean; expiresAt?: number } = {},
) => ({
  key,
  version,
  epoch: extra.epoch ?? 1,
  deleted: extra.deleted ?? false,
  expiresAt: extra.expiresAt ?? 0,
});

describe('partitionDigest', () => {
  it('is independent of order and changes with any key, stamp or tombstone', () => {
    const base = [entry('a', 1), entry('b', 2), entry('c', 3)];
    const digest = partitionDigest(base, 0);
    expect(partitionDigest([...base].reverse(), 0)).toBe(digest);
    expect(partitionDigest([entry('a', 1), entry('b', 2)], 0)).not.toBe(digest);
    expect(partitionDigest([entry('a', 1), entry('b', 9), entry('c', 3)], 0)).not.toBe(digest);
    expect(partitionDigest([entry('a', 1), entry('b', 2, { epoch: 2 }), entry('c', 3)], 0)).not.toBe(digest);
    expect(partitionDigest([entry('a', 1), entry('b', 2, { deleted: true }), entry('c', 3)], 0)).not.toBe(
      digest,
    );
    expect(partitionDigest([], 0)).toBe(0);
  });

  it('leaves out entries expired at the given time', () => {
    const live = [entry('a', 1)];
    expect(partitionDigest([...live, entry('gone', 5, { expiresAt: 100 })], 100)).toBe(
      partitionDigest(live, 100),
    );
    expect(partitionDigest([...live, entry('soon', 5, { expiresAt: 101 })], 100)).not.toBe(
      partitionDigest(live, 100),
    );
  });
});
