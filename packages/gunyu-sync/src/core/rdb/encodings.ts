import { GUNYU_ERROR_CODES, GunyuError } from '../errors';

/** Elements of the compact blob encodings; integers are rendered as decimal text like Redis replies. */
export type Element = Buffer;

function corrupted(what: string): GunyuError {
  return new GunyuError(GUNYU_ERROR_CODES.rdbCorrupted, `corrupted ${what}`);
}

/** intset: u32 LE encoding (2/4/8), u32 LE count, signed LE integers. */
export function decodeIntset(blob: Buffer): Element[] {
  if (blob.length < 8) throw corrupted('intset');
  const width = blob.readUInt32LE(0);
  const count = blob.readUInt32LE(4);
  if (![2, 4, 8].includes(width) || 8 + width * count > blob.length) throw corrupted('intset');
  const out: Element[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = 8 + i * width;
    const value =
      width === 2 ? blob.readInt16LE(at) : width === 4 ? blob.readInt32LE(at) : blob.readBigInt64LE(at);
    out[i] = Buffer.from(String(value));
  }
  return out;
}

/** ziplist (src/ziplist.c): 10-byte header, entries with prevlen + encoding, 0xFF end. */
export function decodeZiplist(blob: Buffer): Element[] {
  if (blob.length < 11) throw corrupted('ziplist');
  const out: Element[] = [];
  let at = 10;
  while (at < blob.length) {
    if (blob[at] === 0xff) return out;
    at += blob[at] === 0xfe ? 5 : 1;
    const encoding = blob[at] as number;
    const kind = encoding >> 6;
    if (kind === 0) {
      out.push(blob.subarray(at + 1, at + 1 + (encoding & 0x3f)));
      at += 1 + (encoding & 0x3f);
    } else if (kind === 1) {
      const length = ((encoding & 0x3f) << 8) | (blob[at + 1] as number);
      out.push(blob.subarray(at + 2, at + 2 + length));
      at += 2 + length;
    } else if (kind === 2) {
      const length = blob.readUInt32BE(at + 1);
      out.push(blob.subarray(at + 5, at + 5 + length));
      at += 5 + length;
    } else {
      let value: number | bigint;
      if (encoding === 0xc0) {
        value = blob.readInt16LE(at + 1);
        at += 3;
      } else if (encoding === 0xd0) {
        value = blob.readInt32LE(at + 1);
        at += 5;
      } else if (encoding === 0xe0) {
        value = blob.readBigInt64LE(at + 1);
        at += 9;
      } else if (encoding === 0xf0) {
        value = blob.readIntLE(at + 1, 3);
        at += 4;
      } else if (encoding === 0xfe) {
        value = blob.readInt8(at + 1);
        at += 2;
      } else if (encoding >= 0xf1 && encoding <= 0xfd) {
        value = (encoding & 0x0f) - 1;
        at += 1;
      } else {
        throw corrupted(`ziplist entry encoding 0x${encoding.toString(16)}`);
      }
      out.push(Buffer.from(String(value)));
    }
  }
  throw corrupted('ziplist (no end marker)');
}

/** listpack (src/listpack.c): 6-byte header, entries (encoding + data + backlen), 0xFF end. */
export function decodeListpack(blob: Buffer): Element[] {
  if (blob.length < 7) throw corrupted('listpack');
  const out: Element[] = [];
  let at = 6;
  while (at < blob.length) {
    const encoding = blob[at] as number;
    if (encoding === 0xff) return out;
    let entryLength: number;
    if ((encoding & 0x80) === 0) {
      out.push(Buffer.from(String(encoding & 0x7f)));
      entryLength = 1;
    } else if ((encoding & 0xc0) === 0x80) {
      const length = encoding & 0x3f;
      out.push(blob.subarray(at + 1, at + 1 + length));
      entryLength = 1 + length;
    } else if ((encoding & 0xe0) === 0xc0) {
      let value = ((encoding & 0x1f) << 8) | (blob[at + 1] as number);
      if (value >= 1 << 12) value -= 1 << 13;
      out.push(Buffer.from(String(value)));
      entryLength = 2;
    } else if ((encoding & 0xf0) === 0xe0) {
      const length = ((encoding & 0x0f) << 8) | (blob[at + 1] as number);
      out.push(blob.subarray(at + 2, at + 2 + length));
      entryLength = 2 + length;
    } else if (encoding === 0xf0) {
      const length = blob.readUInt32LE(at + 1);
      out.push(blob.subarray(at + 5, at + 5 + length));
      entryLength = 5 + length;
    } else if (encoding === 0xf1) {
      out.push(Buffer.from(String(blob.readInt16LE(at + 1))));
      entryLength = 3;
    } else if (encoding === 0xf2) {
      out.push(Buffer.from(String(blob.readIntLE(at + 1, 3))));
      entryLength = 4;
    } else if (encoding === 0xf3) {
      out.push(Buffer.from(String(blob.readInt32LE(at + 1))));
      entryLength = 5;
    } else if (encoding === 0xf4) {
      out.push(Buffer.from(String(blob.readBigInt64LE(at + 1))));
      entryLength = 9;
    } else {
      throw corrupted(`listpack entry encoding 0x${encoding.toString(16)}`);
    }
    // listpack.c lpEncodeBacklen: note the strict `<` against 2^14-1, 2^21-1, 2^28-1 (not powers of two).
    const backlenBytes =
      entryLength <= 127
        ? 1
        : entryLength < 16383
          ? 2
          : entryLength < 2097151
            ? 3
            : entryLength < 268435455
              ? 4
              : 5;
    at += entryLength + backlenBytes;
  }
  throw corrupted('listpack (no end marker)');
}

/** zipmap (pre-2.6 hashes): zmlen, then (len key, len value, free, value + free bytes)…, 0xFF. */
export function decodeZipmap(blob: Buffer): Element[] {
  const out: Element[] = [];
  let at = 1;
  const readLength = (): number => {
    const first = blob[at] as number;
    if (first < 254) {
      at += 1;
      return first;
    }
    if (first === 254) {
      const value = blob.readUInt32LE(at + 1);
      at += 5;
      return value;
    }
    return -1;
  };
  for (;;) {
    const keyLength = readLength();
    if (keyLength < 0) return out;
    out.push(blob.subarray(at, at + keyLength));
    at += keyLength;
    const valueLength = readLength();
    if (valueLength < 0) throw corrupted('zipmap');
    const free = blob[at] as number;
    at += 1;
    out.push(blob.subarray(at, at + valueLength));
    at += valueLength + free;
  }
}
