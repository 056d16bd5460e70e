import { describe, expect, it } from 'vitest';
import { keyInSlots, keySlot, slotOfKey } from './key-slot';

describe('keySlot', () => {
  it('matches CLUSTER KEYSLOT of Redis for plain keys and hash tags', () => {
    // Values printed by redis-server 7.0 `CLUSTER KEYSLOT`.
    expect(slotOfKey('foo')).toBe(12182);
    expect(slotOfKey('bar')).toBe(5061);
    expect(slotOfKey('123456789')).toBe(12739);
    expect(slotOfKey('{user1000}.following')).toBe(slotOfKey('user1000'));
    expect(slotOfKey('foo{}{bar}')).toBe(keySlot(Buffer.from('foo{}{bar}')));
    expect(slotOfKey('foo{{bar}}zap')).toBe(slotOfKey('{bar'));
  });

  it('reads a key in place inside a larger buffer', () => {
    const buffer = Buffer.from('xxfooyy');
    expect(keySlot(buffer, 2, 5)).toBe(12182);
  });

  it('chooses a key whose slot lies in the given ranges', () => {
    const key = keyInSlots('redis-gunyu-checkpoint', [[10923, 16383]]);
    expect(slotOfKey(key)).toBeGreaterThanOrEqual(10923);
    expect(key.startsWith('redis-gunyu-checkpoint-')).toBe(true);
  });
});
