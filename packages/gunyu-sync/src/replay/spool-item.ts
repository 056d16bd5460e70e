import type { SpoolCodec } from '../core/spilling-spool';
import type { StreamCommand } from './command-replayer';

/** What the source connection hands to the replay side, in order. */
export type SpoolItem =
  | { kind: 'rdb'; chunk: Buffer }
  | { kind: 'rdb-end' }
  | StreamCommand
  /** The spool stayed empty for a batch tick: flush what is pending (never spooled itself). */
  | { kind: 'tick' }
  | { kind: 'closed'; error: Error | undefined };

export const TICK: SpoolItem = { kind: 'tick' };

/** Per-item bookkeeping counted against the memory budget on top of the bytes it holds. */
const ITEM_OVERHEAD = 96;
const KIND = { rdb: 1, rdbEnd: 2, command: 3, closed: 4 } as const;
/** kind u8, offset f64, arg1Start/arg1End/arg2Start/arg2End i32, name length u8. */
const COMMAND_HEADER = 1 + 8 + 16 + 1;

/** `[kind u8]` then `payload`, in one buffer the size of the record (one copy, as the spill file needs). */
function withKind(kind: number, payload: Uint8Array): Buffer {
  const bytes = Buffer.allocUnsafe(1 + payload.length);
  bytes[0] = kind;
  bytes.set(payload, 1);
  return bytes;
}

/**
 * Disk form of spool items: `[kind u8]` then, for a command, its offset, argument positions, name and
 * raw RESP bytes; for an RDB chunk its bytes; for `closed` the error message.
 */
export const SPOOL_ITEM_CODEC: SpoolCodec<SpoolItem> = {
  size(item) {
    if (item.kind === 'command') return item.data.length + ITEM_OVERHEAD;
    if (item.kind === 'rdb') return item.chunk.length + ITEM_OVERHEAD;
    return ITEM_OVERHEAD;
  },

  encode(item) {
    switch (item.kind) {
      case 'command': {
        const name = Buffer.from(item.name, 'latin1');
        const bytes = Buffer.allocUnsafe(COMMAND_HEADER + name.length + item.data.length);
        bytes[0] = KIND.command;
        bytes.writeDoubleLE(item.offset, 1);
        bytes.writeInt32LE(item.arg1Start, 9);
        bytes.writeInt32LE(item.arg1End, 13);
        bytes.writeInt32LE(item.arg2Start, 17);
        bytes.writeInt32LE(item.arg2End, 21);
        bytes[25] = name.length;
        name.copy(bytes, COMMAND_HEADER);
        item.data.copy(bytes, COMMAND_HEADER + name.length);
        return bytes;
      }
      case 'rdb':
        return withKind(KIND.rdb, item.chunk);
      case 'rdb-end':
        return Buffer.of(KIND.rdbEnd);
      case 'closed':
        return withKind(KIND.closed, Buffer.from(item.error?.message ?? ''));
      case 'tick':
        throw new Error('a tick is never spooled');
    }
  },

  decode(bytes) {
    switch (bytes[0]) {
      case KIND.command: {
        const nameEnd = COMMAND_HEADER + (bytes[25] as number);
        return {
          kind: 'command',
          offset: bytes.readDoubleLE(1),
          arg1Start: bytes.readInt32LE(9),
          arg1End: bytes.readInt32LE(13),
          arg2Start: bytes.readInt32LE(17),
          arg2End: bytes.readInt32LE(21),
          name: bytes.toString('latin1', COMMAND_HEADER, nameEnd),
          data: bytes.subarray(nameEnd),
        };
      }
      case KIND.rdb:
        return { kind: 'rdb', chunk: bytes.subarray(1) };
      case KIND.rdbEnd:
        return { kind: 'rdb-end' };
      case KIND.closed:
        return { kind: 'closed', error: bytes.length > 1 ? new Error(bytes.toString('utf8', 1)) : undefined };
      default:
        throw new Error(`corrupted spool record: unknown kind ${bytes[0]}`);
    }
  },
};
