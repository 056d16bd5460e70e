/**
 * The data protocol between clients and local services (TCP, little endian), Mooncake-style: a fixed
 * header naming the segment range, then the payload.
 *
 *   header = u8 opcode | u8 medium | u8 status | u8 reserved | u32 requestId | u64 offset | u64 length
 *            | u64 view
 *
 * `view` is the write epoch of the mount the range was allocated under (HA fencing, README decision 28): a
 * local service refuses a WRITE or COPY stamped below the epoch of its current mount, because since then the
 * leader (a new one, or the same after a re-mount) may have handed that range to another object. Replies echo
 * the request's value (STALE_VIEW: the server's).
 *
 * WRITE: header + `length` payload bytes → reply header (status). READ: header → reply header + `length`
 * bytes when status is OK. Replies on one connection come back in request order. Large transfers are
 * sliced by the client and spread over several connections ("lanes") per peer.
 * COPY moves a range between two segments of the same local service (see COPY_PAYLOAD_BYTES).
 */
export const DATA_HEADER_BYTES = 32;

export const DATA_OPCODE = { READ: 1, WRITE: 2, COPY: 3 } as const;

/**
 * COPY (HBM→DRAM demotion inside one local service): the header names the source range, a 16-byte
 * payload the destination: u8 medium | 7 reserved | u64 offset. Reply: header with the status.
 */
export const COPY_PAYLOAD_BYTES = 16;
export type DataOpcode = (typeof DATA_OPCODE)[keyof typeof DATA_OPCODE];

export const DATA_STATUS = {
  OK: 0,
  /** offset + length is outside the registered segment. */
  OUT_OF_BOUNDS: 1,
  /** This local service holds no segment of that medium. */
  NO_SEGMENT: 2,
  /** The slice is over the server's maxTransferBytes. */
  TOO_LARGE: 3,
  BAD_OPCODE: 4,
  /** The service is draining for shutdown. */
  DRAINING: 5,
  /** HA: the WRITE/COPY was allocated by an older meta leader than the one this service mounted on. */
  STALE_VIEW: 6,
} as const;
export type DataStatus = (typeof DATA_STATUS)[keyof typeof DATA_STATUS];

export const DATA_STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  [DATA_STATUS.OUT_OF_BOUNDS]: 'range outside the segment',
  [DATA_STATUS.NO_SEGMENT]: 'no segment of that medium on this rank',
  [DATA_STATUS.TOO_LARGE]: 'slice over the data server limit',
  [DATA_STATUS.BAD_OPCODE]: 'unknown data opcode',
  [DATA_STATUS.DRAINING]: 'local service is shutting down',
  [DATA_STATUS.STALE_VIEW]: 'write allocated by an older meta leader (stale view_version)',
});

export interface DataHeader {
  opcode: number;
  medium: number;
  status: number;
  requestId: number;
  offset: number;
  length: number;
  view: number;
}

const TWO_TO_32 = 2 ** 32;

/** Writes a header at `at`; offsets, lengths and views stay below 2^53 (segments are ≤ 1 TB). */
export function writeDataHeader(
  target: Buffer,
  at: number,
  opcode: number,
  medium: number,
  status: number,
  requestId: number,
  offset: number,
  length: number,
  view = 0,
): void {
  target[at] = opcode;
  target[at + 1] = medium;
  target[at + 2] = status;
  target[at + 3] = 0;
  target.writeUInt32LE(requestId >>> 0, at + 4);
  target.writeUInt32LE(offset % TWO_TO_32, at + 8);
  target.writeUInt32LE(Math.floor(offset / TWO_TO_32), at + 12);
  target.writeUInt32LE(length % TWO_TO_32, at + 16);
  target.writeUInt32LE(Math.floor(length / TWO_TO_32), at + 20);
  target.writeUInt32LE(view % TWO_TO_32, at + 24);
  target.writeUInt32LE(Math.floor(view / TWO_TO_32), at + 28);
}

export function readDataHeader(source: Buffer, at: number, into: DataHeader): DataHeader {
  into.opcode = source[at] as number;
  into.medium = source[at + 1] as number;
  into.status = source[at + 2] as number;
  into.requestId = source.readUInt32LE(at + 4);
  into.offset = source.readUInt32LE(at + 8) + source.readUInt32LE(at + 12) * TWO_TO_32;
  into.length = source.readUInt32LE(at + 16) + source.readUInt32LE(at + 20) * TWO_TO_32;
  into.view = source.readUInt32LE(at + 24) + source.readUInt32LE(at + 28) * TWO_TO_32;
  return into;
}

/**
 * Headers are carved from a shared slab instead of one allocation each; a slab stays referenced by the
 * socket writes that use it until they flush, then is collected.
 */
export class HeaderSlab {
  private slab = Buffer.allocUnsafe(DATA_HEADER_BYTES * 2048);
  private used = 0;

  next(): Buffer {
    if (this.used + DATA_HEADER_BYTES > this.slab.length) {
      this.slab = Buffer.allocUnsafe(this.slab.length);
      this.used = 0;
    }
    const header = this.slab.subarray(this.used, this.used + DATA_HEADER_BYTES);
    this.used += DATA_HEADER_BYTES;
    return header;
  }
}

/**
 * Accumulates a header that may arrive split over socket chunks: a whole header inside one chunk is read
 * in place, a split one is gathered into 24 bytes of scratch.
 */
export class HeaderAssembler {
  private readonly scratch = Buffer.allocUnsafe(DATA_HEADER_BYTES);
  private filled = 0;
  readonly header: DataHeader = {
    opcode: 0,
    medium: 0,
    status: 0,
    requestId: 0,
    offset: 0,
    length: 0,
    view: 0,
  };

  /** Consumes header bytes from `chunk` at `position`; returns the new position, `header` is set when `complete`. */
  take(chunk: Buffer, position: number, end = chunk.length): number {
    if (this.filled === 0 && end - position >= DATA_HEADER_BYTES) {
      readDataHeader(chunk, position, this.header);
      this.filled = DATA_HEADER_BYTES;
      return position + DATA_HEADER_BYTES;
    }
    const count = Math.min(DATA_HEADER_BYTES - this.filled, end - position);
    chunk.copy(this.scratch, this.filled, position, position + count);
    this.filled += count;
    if (this.filled === DATA_HEADER_BYTES) readDataHeader(this.scratch, 0, this.header);
    return position + count;
  }

  get complete(): boolean {
    return this.filled === DATA_HEADER_BYTES;
  }

  reset(): void {
    this.filled = 0;
  }
}
