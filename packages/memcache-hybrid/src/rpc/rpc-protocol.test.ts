import { feedingPlans, piecesOf, seededRandom } from '@kvforge/testing';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader, packr, RPC_HEADER_BYTES, RPC_OPCODE, RpcFrameError } from './rpc-protocol';

interface Decoded {
  requestId: number;
  opcode: number;
  body: unknown;
}

/** A pipelined stream: small, empty-ish, batch and large (multi-chunk) bodies. */
function sampleFrames(): { frames: Decoded[]; bytes: Buffer } {
  const random = seededRandom(17);
  const frames: Decoded[] = [
    { requestId: 1, opcode: RPC_OPCODE.PING, body: null },
    { requestId: 2, opcode: RPC_OPCODE.ALLOC, body: ['layer-0/block-1', 131072, 2, 0, null] },
    { requestId: 3, opcode: RPC_OPCODE.BATCH_GET, body: Array.from({ length: 50 }, (_, i) => `key-${i}`) },
    { requestId: 0xffffffff, opcode: RPC_OPCODE.GET, body: 'k' },
    {
      requestId: 5,
      opcode: RPC_OPCODE.BATCH_QUERY,
      body: Array.from({ length: 3000 }, () => `k-${Math.floor(random() * 1e9)}`),
    },
    { requestId: 6, opcode: RPC_OPCODE.REMOVE_ALL, body: [] },
  ];
  const bytes = Buffer.concat(frames.map((frame) => encodeFrame(frame.requestId, frame.opcode, frame.body)));
  return { frames, bytes };
}

function decodeAll(reader: FrameReader, pieces: Buffer[]): Decoded[] {
  const decoded: Decoded[] = [];
  for (const piece of pieces) {
    reader.push(piece, (requestId, opcode, body) =>
      decoded.push({ requestId, opcode, body: packr.unpack(body) }),
    );
  }
  return decoded;
}

describe('FrameReader', () => {
  const { frames, bytes } = sampleFrames();

  for (const plan of feedingPlans(bytes.length, 3)) {
    it(`decodes the same frames fed ${plan.name}`, () => {
      const reader = new FrameReader();
      expect(decodeAll(reader, piecesOf(bytes, plan.cuts))).toEqual(frames);
      expect(reader.bufferedBytes).toBe(0);
    });
  }

  it('decodes the same frames over many seeded random splits, keeping an incomplete tail', () => {
    const random = seededRandom(99);
    for (let round = 0; round < 20; round++) {
      const cuts: number[] = [];
      for (let at = 0; at < bytes.length; ) {
        at = Math.min(bytes.length, at + 1 + Math.floor(random() * 700));
        cuts.push(at);
      }
      const reader = new FrameReader();
      const tail = encodeFrame(9, RPC_OPCODE.PING, null);
      const decoded = decodeAll(reader, [...piecesOf(bytes, cuts), tail.subarray(0, 5)]);
      expect(decoded).toEqual(frames);
      expect(reader.bufferedBytes).toBe(5);
    }
  });

  it('reads a chunk of whole frames in place: bodies are views of the chunk, not copies', () => {
    const chunk = Buffer.from(bytes);
    const reader = new FrameReader();
    const views: Buffer[] = [];
    reader.push(chunk, (_id, _opcode, body) => views.push(body));
    expect(views).toHaveLength(frames.length);
    for (const view of views) expect(view.buffer).toBe(chunk.buffer);
  });

  it('accepts a frame exactly at the limit and rejects one byte over, with a clear error', () => {
    const atLimit = encodeFrame(1, RPC_OPCODE.GET, 'x'.repeat(100));
    const limit = atLimit.length - RPC_HEADER_BYTES;
    const reader = new FrameReader({ maxFrameBytes: limit });
    expect(decodeAll(reader, [atLimit])).toHaveLength(1);
    const over = encodeFrame(2, RPC_OPCODE.GET, 'x'.repeat(101));
    let error: unknown;
    try {
      reader.push(over.subarray(0, RPC_HEADER_BYTES), () => undefined);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(RpcFrameError);
    expect((error as RpcFrameError).code).toBe('MMC_ERR_RPC_FRAME_TOO_LARGE');
    expect((error as Error).message).toBe(
      `meta RPC frame announces a ${limit + 1}-byte body, over the ${limit}-byte limit (maxFrameBytes)`,
    );
    expect(reader.bufferedBytes).toBe(0);
  });

  it('reads garbage (an HTTP request) as an oversize frame as soon as its header is in', () => {
    const reader = new FrameReader();
    const garbage = Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(() => reader.push(garbage.subarray(0, 8), () => undefined)).not.toThrow();
    expect(() => reader.push(garbage.subarray(8), () => undefined)).toThrow(RpcFrameError);
  });

  it('encodes header fields little endian, the body length matching the MessagePack body', () => {
    const frame = encodeFrame(0x01020304, RPC_OPCODE.MOUNT, [0, 1, 4096]);
    const body = packr.pack([0, 1, 4096]);
    expect(frame.readUInt32LE(0)).toBe(body.length);
    expect(frame.readUInt32LE(4)).toBe(0x01020304);
    expect(frame[8]).toBe(RPC_OPCODE.MOUNT);
    expect(frame.subarray(RPC_HEADER_BYTES)).toEqual(body);
    // Frames encoded one after another never overwrite each other (msgpackr's scratch buffer is append-only).
    const first = encodeFrame(1, RPC_OPCODE.GET, 'first');
    const copy = Buffer.from(first);
    for (let index = 0; index < 2000; index++) encodeFrame(index, RPC_OPCODE.GET, `other-${index}`);
    expect(first).toEqual(copy);
  });
});
