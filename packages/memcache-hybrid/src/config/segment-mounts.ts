import { z } from 'zod';
import { MEDIUM, type Medium } from '../core/codes';

/** A segment the meta service mounts at start (demo stack, tests; local services mount over RPC). */
export interface SegmentMount {
  rank: number;
  medium: Medium;
  bytes: number;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/** `2048KB`, `200mb`, `2.5GB`, `1TB` like the original's size syntax; RangeError when it is none of them. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?B?)$/i.exec(text.trim());
  // `2048K` and `200m` mean KB and MB, as in the original.
  const suffix = (match?.[2] ?? '').toUpperCase();
  const unit = match ? SIZE_UNITS[suffix.length === 1 && suffix !== 'B' ? `${suffix}B` : suffix] : undefined;
  if (!match || unit === undefined) throw new RangeError(`invalid size "${text}"`);
  return Math.floor(Number(match[1]) * unit);
}

/** `0:DRAM:1GB,1:HBM:512MB` → mounts; RangeError naming the bad entry. */
export function parseSegmentMounts(text: string): SegmentMount[] {
  if (text.trim() === '') return [];
  return text.split(',').map((entry) => {
    const [rank, medium, size] = entry.trim().split(':');
    const upper = (medium ?? '').toUpperCase();
    if (!/^\d+$/.test(rank ?? '') || (upper !== 'HBM' && upper !== 'DRAM') || !size) {
      throw new RangeError(`invalid entry "${entry}" (expected rank:HBM|DRAM:size)`);
    }
    return { rank: Number(rank), medium: upper === 'HBM' ? MEDIUM.HBM : MEDIUM.DRAM, bytes: parseSize(size) };
  });
}

/** A zod string of segment mounts that parses into `SegmentMount[]` (a bad entry is a config error). */
export const segmentMountList = z.string().transform((text, context) => {
  try {
    return parseSegmentMounts(text);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** The largest segment the original accepts (1 TB). */
export const MAX_SEGMENT_BYTES = 1024 ** 4;

/** A size in the original's syntax (`134217728`, `2048KB`, `200mb`, `2.5GB`, `1TB`) as a zod field. */
export const byteSize = z.union([z.string(), z.number()]).transform((value, context) => {
  try {
    const bytes = typeof value === 'number' ? value : parseSize(value);
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > MAX_SEGMENT_BYTES) {
      throw new RangeError(`size ${value} is outside 0..1TB`);
    }
    return bytes;
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
