import { Packr } from 'msgpackr';

/**
 * Meta RPC wire format (TCP, little endian):
 *
 *   frame   = u32 bodyLength | u32 requestId | u8 opcode | body (bodyLength bytes of MessagePack)
 *
 * A reply carries the request's id and opcode. Requests on one connection may be pipelined; replies come
 * back in request order (the server handles them synchronously), and the id lets a client match anyway.
 */
export const RPC_HEADER_BYTES = 9;

export const RPC_OPCODE = {
  PING: 0,
  ALLOC: 1,
  BATCH_ALLOC: 2,
  GET: 3,
  BATCH_GET: 4,
  UPDATE_STATE: 5,
  BATCH_UPDATE_STATE: 6,
  REMOVE: 7,
  BATCH_REMOVE: 8,
  REMOVE_ALL: 9,
  QUERY: 10,
  BATCH_QUERY: 11,
  EXIST_KEY: 12,
  BATCH_EXIST_KEY: 13,
  GET_ALL_KEYS: 14,
  MOUNT: 15,
  UNMOUNT: 16,
} as const;
export type RpcOpcode = (typeof RPC_OPCODE)[keyof typeof RPC_OPCODE];

export interface RpcLimits {
  /** Largest frame body accepted; a bigger one closes the connection. */
  maxFrameBytes: number;
}

export const DEFAULT_RPC_LIMITS: Readonly<RpcLimits> = Object.freeze({ maxFrameBytes: 64 * 1024 * 1024 });

export const packr = new Packr({ useRecords: false, moreTypes: false });

/** Encodes one frame into a new buffer (header and body in one allocation). */
export function encodeFrame(requestId: number, opcode: number, body: unknown): Buffer {
  const payload = packr.pack(body);
  const frame = Buffer.allocUnsafe(RPC_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(requestId >>> 0, 4);
  frame[8] = opcode;
  payload.copy(frame, RPC_HEADER_BYTES);
  return frame;
}

/** Accumulates socket chunks and yields complete frames without copying when a chunk holds whole frames. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly limits: RpcLimits;

  constructor(limits: Partial<RpcLimits> = {}) {
    this.limits = { ...DEFAULT_RPC_LIMITS, ...limits };
  }

  /** Calls `onFrame` for every complete frame; throws RangeError on a frame over the limit. */
  push(chunk: Buffer, onFrame: (requestId: number, opcode: number, body: Buffer) => void): void {
    const buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    while (buffer.length - offset >= RPC_HEADER_BYTES) {
      const length = buffer.readUInt32LE(offset);
      if (length > this.limits.maxFrameBytes)
        throw new RangeError(`RPC frame of ${length} bytes exceeds the limit`);
      const end = offset + RPC_HEADER_BYTES + length;
      if (end > buffer.length) break;
      onFrame(
        buffer.readUInt32LE(offset + 4),
        buffer[offset + 8] as number,
        buffer.subarray(offset + RPC_HEADER_BYTES, end),
      );
      offset = end;
    }
    this.buffer = offset === buffer.length ? Buffer.alloc(0) : buffer.subarray(offset);
  }
}
