import { describe, expect, it } from 'vitest';
import { parseByteSize } from './byte-size';

describe('parseByteSize', () => {
  it('reads plain numbers and binary units', () => {
    expect(parseByteSize('4096')).toBe(4096);
    expect(parseByteSize('256mb')).toBe(256 * 1024 * 1024);
    expect(parseByteSize('1.5K')).toBe(1536);
    expect(parseByteSize('2g')).toBe(2 * 1024 ** 3);
  });

  it('rejects junk', () => {
    expect(() => parseByteSize('lots')).toThrow(/invalid byte size/);
    expect(() => parseByteSize('12tb')).toThrow(/invalid byte size/);
  });
});
