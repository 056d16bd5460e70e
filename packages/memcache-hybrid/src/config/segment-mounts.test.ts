import { describe, expect, it } from 'vitest';
import { MEDIUM } from '../core/codes';
import { byteSize, parseSegmentMounts, parseSize, segmentMountList } from './segment-mounts';

describe('segment mounts', () => {
  it('parses the original size syntax', () => {
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('2048KB')).toBe(2048 * 1024);
    expect(parseSize('200mb')).toBe(200 * 1024 ** 2);
    expect(parseSize('2.5GB')).toBe(2.5 * 1024 ** 3);
    expect(parseSize('1TB')).toBe(1024 ** 4);
    expect(() => parseSize('1PB')).toThrow('invalid size "1PB"');
  });

  it('parses rank:medium:size lists and names a bad entry', () => {
    expect(parseSegmentMounts('')).toEqual([]);
    expect(parseSegmentMounts('0:DRAM:1GB, 1:hbm:512MB')).toEqual([
      { rank: 0, medium: MEDIUM.DRAM, bytes: 1024 ** 3 },
      { rank: 1, medium: MEDIUM.HBM, bytes: 512 * 1024 ** 2 },
    ]);
    expect(() => parseSegmentMounts('0:SSD:1GB')).toThrow('invalid entry "0:SSD:1GB"');
    const parsed = segmentMountList.safeParse('x:DRAM:1');
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('invalid entry "x:DRAM:1"');
  });
});

describe('byteSize (the original size syntax as a config field)', () => {
  it('accepts 134217728, 2048KB, 2048K, 200mb, 200m, 2.5GB, 1TB and refuses garbage and > 1TB', () => {
    expect(byteSize.parse('134217728')).toBe(134217728);
    expect(byteSize.parse('2048KB')).toBe(2048 * 1024);
    expect(byteSize.parse('2048K')).toBe(2048 * 1024);
    expect(byteSize.parse('200mb')).toBe(200 * 1024 ** 2);
    expect(byteSize.parse('200m')).toBe(200 * 1024 ** 2);
    expect(byteSize.parse('2.5GB')).toBe(2.5 * 1024 ** 3);
    expect(byteSize.parse('1TB')).toBe(1024 ** 4);
    expect(byteSize.safeParse('2TB').success).toBe(false);
    expect(byteSize.safeParse('lots').success).toBe(false);
  });
});
