import { describe, expect, it } from 'vitest';
import { decodeReadFrame, encodeReadFrame } from './read-frame';

describe('read frame', () => {
  it('round-trips bodies (UTF-8 lengths in bytes) and an empty 421 entry, as slices of the frame', () => {
    const bodies = ['{"key":"a","value":"张三"}', '', '{"key":"b","value":null,"found":false}'];
    const frame = Buffer.from(encodeReadFrame([200, 421, 404], bodies));
    const entries = decodeReadFrame(frame, 3);
    expect(entries?.map((entry) => entry.statusCode)).toEqual([200, 421, 404]);
    expect(entries?.map((entry) => entry.body.toString('utf8'))).toEqual(bodies);
    expect(entries?.[0]?.body.buffer).toBe(frame.buffer);
  });

  it('rejects malformed frames: no head, wrong count, bad digits, lengths past the end or short of it', () => {
    const good = encodeReadFrame([200], ['xyz']);
    expect(decodeReadFrame(Buffer.from(good), 1)).toBeDefined();
    expect(decodeReadFrame(Buffer.from(good), 2)).toBeUndefined();
    for (const bad of [
      '200:3xyz',
      '200:4\nxyz',
      '200:2\nxyz',
      '2x0:3\nxyz',
      '200\nxyz',
      ':3\nxyz',
      '200:\nxyz',
    ])
      expect(decodeReadFrame(Buffer.from(bad), 1), bad).toBeUndefined();
  });
});
