import { describe, expect, it } from 'vitest';
import { hashKey, partitionOf } from './hash';

function fnvReference(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash >>> 0;
}

describe('hashKey', () => {
  it('matches FNV-1a 32 known vectors', () => {
    expect(hashKey('')).toBe(0x811c9dc5);
    expect(hashKey('a')).toBe(0xe40c292c);
    expect(hashKey('foobar')).toBe(0xbf9cf968);
  });

  it('hashes the UTF-8 bytes of non-ASCII keys (2-, 3- and 4-byte sequences)', () => {
    for (const key of [
      'é',
      'user:张三',
      '🙂 emoji/key',
      'a\u0800b',
      'x'.repeat(1024),
      'lone\ud800surrogate',
    ]) {
      expect(hashKey(key)).toBe(fnvReference(key));
    }
  });

  it('maps keys into the partition range', () => {
    for (let index = 0; index < 1000; index++) {
      const partition = partitionOf(`k${index}`, 271);
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(271);
    }
  });
});
