import { describe, expect, it } from 'vitest';
import { AdaptiveBatch, bucketPrefix } from './bucket-key-index';

describe('bucketPrefix', () => {
  it('reads the decimal bucket before the first underscore, and -1 for anything else', () => {
    expect(bucketPrefix(Buffer.from('0_a'))).toBe(0);
    expect(bucketPrefix(Buffer.from('255_key_with_underscores'))).toBe(255);
    expect(bucketPrefix(Buffer.from('2047_'))).toBe(2047);
    expect(bucketPrefix(Buffer.from('_a'))).toBe(-1);
    expect(bucketPrefix(Buffer.from('12a_b'))).toBe(-1);
    expect(bucketPrefix(Buffer.from('123'))).toBe(-1);
    expect(bucketPrefix(Buffer.from('1234567_x'))).toBe(-1);
    expect(bucketPrefix(Buffer.alloc(0))).toBe(-1);
  });
});

describe('AdaptiveBatch', () => {
  it('grows at most twofold while batches are fast, cuts at once after a slow one, stays in bounds', () => {
    const batch = new AdaptiveBatch(10_000, 50);
    expect(batch.size).toBe(1000);
    batch.record(1000, 5); // ideal 10 000, capped at 2×
    expect(batch.size).toBe(2000);
    batch.record(2000, 1);
    expect(batch.size).toBe(4000);
    batch.record(4000, 400); // 10× over budget: ideal 500
    expect(batch.size).toBe(500);
    batch.record(100, 1000); // a short tail batch is ignored
    expect(batch.size).toBe(500);
    batch.record(500, 100_000);
    expect(batch.size).toBe(16);
    for (let step = 0; step < 20; step++) batch.record(batch.size, 0);
    expect(batch.size).toBe(10_000);
  });
});
