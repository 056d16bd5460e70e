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
  const unit = match ? SIZE_UNITS[(match[2] ?? '').toUpperCase()] : undefined;
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
