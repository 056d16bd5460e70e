import { parseInteger, ReplyScanner, RespWriter } from '@kvforge/resp';
import { MERGE_KINDS } from '../core/command-table';
import type { ReplySlot } from './reply-slot';

const MINUS = 0x2d;
const COLON = 0x3a;
const OK = Buffer.from('+OK\r\n');
const BAD_REPLY = Buffer.from('-ERR unexpected reply from redis\r\n');
const scanner = new ReplyScanner();
const writer = new RespWriter();

export interface MergedReply {
  reply: Buffer;
  isError: boolean;
}

/**
 * Combines the per-backend replies of a split command: MGET arrays reassembled in key order,
 * DEL/UNLINK/EXISTS/TOUCH/DBSIZE integers summed, MSET OK when every part is OK. The first error wins.
 */
export function mergeReplies(slot: ReplySlot): MergedReply {
  const parts = slot.partReplies!;
  for (const part of parts) if (part && part[0] === MINUS) return { reply: part, isError: true };
  switch (slot.merge) {
    case MERGE_KINDS.SUM: {
      let total = 0;
      for (const part of parts) {
        if (!part || part[0] !== COLON) return { reply: BAD_REPLY, isError: true };
        const value = parseInteger(part, 1, part.length - 2);
        if (Number.isNaN(value)) return { reply: BAD_REPLY, isError: true };
        total += value;
      }
      writer.writeInteger(total);
      return { reply: writer.take(), isError: false };
    }
    case MERGE_KINDS.ALL_OK:
      return { reply: OK, isError: false };
    case MERGE_KINDS.ARRAY: {
      const elements = new Array<Buffer>(slot.keyCount);
      for (let index = 0; index < parts.length; index++) {
        const part = parts[index]!;
        const positions = slot.partIndexes![index]!;
        let offset = part.indexOf(10) + 1;
        for (const position of positions) {
          const end = scanner.scan(part, offset, part.length);
          if (end < 0) return { reply: BAD_REPLY, isError: true };
          elements[position] = part.subarray(offset, end);
          offset = end;
        }
      }
      writer.writeArrayHeader(elements.length);
      for (const element of elements) writer.writeRaw(element);
      return { reply: writer.take(), isError: false };
    }
    default:
      return { reply: BAD_REPLY, isError: true };
  }
}
