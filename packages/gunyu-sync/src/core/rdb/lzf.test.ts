import { describe, expect, it } from 'vitest';
import { lzfDecompress } from './lzf';

describe('lzfDecompress', () => {
  it('decodes a literal run followed by an overlapping back reference', () => {
    // literal "ab" (ctrl 1), then back reference len 7+2... : ctrl (len=4-2=2)<<5 | off_hi 0, off_lo 1 → copy 4 from 2 back
    const input = Buffer.from([0x01, 0x61, 0x62, 0x40, 0x01]);
    expect(lzfDecompress(input, 6).toString()).toBe('ababab');
  });

  it('rejects a reference before the start of the output', () => {
    expect(() => lzfDecompress(Buffer.from([0x40, 0x05]), 4)).toThrow(/out of range/);
  });

  it('rejects output of the wrong length', () => {
    expect(() => lzfDecompress(Buffer.from([0x00, 0x61]), 2)).toThrow(/expected 2/);
  });
});
