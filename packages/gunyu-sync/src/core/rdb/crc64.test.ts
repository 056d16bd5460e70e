import { describe, expect, it } from 'vitest';
import { Crc64, crc64 } from './crc64';

describe('crc64 (Redis Jones)', () => {
  it('matches the check value of src/crc64.c', () => {
    expect(crc64(Buffer.from('123456789'))).toBe(0xe9c6d914c4b8d9can);
  });

  it('gives the same result incrementally at any split as in one pass', () => {
    const data = Buffer.alloc(1000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
    const whole = crc64(data);
    for (const split of [0, 1, 7, 8, 9, 500, 999]) {
      const crc = new Crc64().update(data, 0, split).update(data, split, data.length);
      expect(crc.value()).toBe(whole);
    }
    expect(whole).not.toBe(0n);
  });
});
