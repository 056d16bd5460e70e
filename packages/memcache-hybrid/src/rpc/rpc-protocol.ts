import { InputBuffer } from '@kvforge/resp';
import { DomainError } from '@kvforge/runtime';
import { Packr, RESERVE_START_SPACE } from 'msgpackr';

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
  /** A local service mounts its segments and registers its data address; its connection owns the rank. */
  MOUNT_LOCAL: 17,
  UNMOUNT_LOCAL: 18,
  LIST_LOCAL_SERVICES: 19,
  /** Get for a reading client: the leased blob first, then the other readable replicas. */
  GET_REPLICAS: 20,
  BATCH_GET_REPLICAS: 21,
  /**
   * HA, meta → local service, request id 0 (no reply): `[1, key, size, medium, offset]` a blob on this
   * rank became readable, `[0, medium, offset]` its range was freed — the local service's blob map.
   */
  BLOB_RECORD: 22,
  /**
   * A local service about to (re-)mount reserves its write epoch (`[OK, epoch]`): it fences its data server
   * on it first, then sends MOUNT_LOCAL with it (data-protocol.ts, README decision 28).
   */
  MOUNT_EPOCH: 23,
} as const;
export type RpcOpcode = (typeof RPC_OPCODE)[keyof typeof RPC_OPCODE];

export interface RpcLimits {
  /** Largest frame body accepted; a bigger one closes the connection. */
  maxFrameBytes: number;
}

export const DEFAULT_RPC_LIMITS: Readonly<RpcLimits> = Object.freeze({ maxFrameBytes: 64 * 1024 * 1024 });

/**
 * The byte stream is not meta RPC: a header announced a body over the limit (garbage such as an HTTP
 * request reads as a huge length). Framing is lost, so the connection must close.
 */
export class RpcFrameError extends DomainError<'MMC_ERR_RPC_FRAME_TOO_LARGE'> {
  constructor(
    readonly announcedBytes: number,
    readonly maxFrameBytes: number,
  ) {
    super(
      'MMC_ERR_RPC_FRAME_TOO_LARGE',
      `meta RPC frame announces a ${announcedBytes}-byte body, over the ${maxFrameBytes}-byte limit (maxFrameBytes)`,
      { details: { announcedBytes, maxFrameBytes } },
    );
  }
}

export const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * Encodes one frame. msgpackr packs into its shared, append-only scratch buffer with the header's nine
 * bytes reserved in front, so a frame costs no allocation and no copy; the returned view stays valid
 * (later packs write after it or into a fresh scratch buffer).
 */
export function encodeFrame(requestId: number, opcode: number, body: unknown): Buffer {
  const frame = packr.pack(body, RESERVE_START_SPACE | RPC_HEADER_BYTES);
  frame.writeUInt32LE(frame.length - RPC_HEADER_BYTES, 0);
  frame.writeUInt32LE(requestId >>> 0, 4);
  frame[8] = opcode;
  return frame;
}

export type FrameHandler = (requestId: number, opcode: number, body: Buffer) => void;

/**
 * Cuts socket chunks into frames by offsets. A chunk holding whole frames is read in place; a frame split
 * over reads is gathered in the InputBuffer (grown by doubling, never re-concatenated per read). The body
 * handed to `onFrame` is a view valid only during the call: decode it there.
 */
export class FrameReader {
  private readonly input = new InputBuffer();
  private readonly maxFrameBytes: number;

  constructor(limits: Partial<RpcLimits> = {}) {
    this.maxFrameBytes = limits.maxFrameBytes ?? DEFAULT_RPC_LIMITS.maxFrameBytes;
  }

  /** Bytes of an incomplete frame held back for the next chunk. */
  get bufferedBytes(): number {
    return this.input.length;
  }

  /** Calls `onFrame` for every complete frame; throws RpcFrameError (and drops its buffer) on an oversize one. */
  push(chunk: Buffer, onFrame: FrameHandler): void {
    const input = this.input;
    input.append(chunk);
    const { buffer, end } = input;
    let offset = input.start;
    while (end - offset >= RPC_HEADER_BYTES) {
      const length = buffer.readUInt32LE(offset);
      if (length > this.maxFrameBytes) {
        input.clear();
        throw new RpcFrameError(length, this.maxFrameBytes);
      }
      const frameEnd = offset + RPC_HEADER_BYTES + length;
      if (frameEnd > end) break;
      onFrame(
        buffer.readUInt32LE(offset + 4),
        buffer[offset + 8] as number,
        buffer.subarray(offset + RPC_HEADER_BYTES, frameEnd),
      );
      offset = frameEnd;
    }
    input.consumeTo(offset);
  }
}
