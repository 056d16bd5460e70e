/**
 * Test-only encoder of RDB files and values, written from Redis' C sources (rdb.c, ziplist.c,
 * listpack.c, zipmap.c, intset.c, t_stream.c, lzf_c.c) independently of the parser's decoders, so
 * synthetic files of every RDB version and value encoding can be checked against what they encode.
 */
import { crc64 } from '../src/core/rdb/crc64';

export type Bytes = Buffer | string;

const bytesOf = (value: Bytes): Buffer => (typeof value === 'string' ? Buffer.from(value, 'latin1') : value);

const concat = (parts: readonly Uint8Array[]): Buffer => Buffer.concat(parts);

/** rdbSaveLen: 6-bit, 14-bit (big-endian), 0x80 + u32 BE, 0x81 + u64 BE. */
export function rdbLength(length: number | bigint): Buffer {
  const value = BigInt(length);
  if (value < 64n) return Buffer.of(Number(value));
  if (value < 16384n) return Buffer.of(0x40 | Number(value >> 8n), Number(value & 0xffn));
  if (value <= 0xffffffffn) {
    const out = Buffer.alloc(5);
    out[0] = 0x80;
    out.writeUInt32BE(Number(value), 1);
    return out;
  }
  const out = Buffer.alloc(9);
  out[0] = 0x81;
  out.writeBigUInt64BE(value, 1);
  return out;
}

/** LZF compression (lzf_c.c format): literal runs of ≤ 32 bytes and back references of 3..264 bytes. */
export function lzfCompress(input: Buffer): Buffer {
  const out: number[] = [];
  let literals: number[] = [];
  const flushLiterals = (): void => {
    for (let i = 0; i < literals.length; i += 32) {
      const run = literals.slice(i, i + 32);
      out.push(run.length - 1, ...run);
    }
    literals = [];
  };
  let at = 0;
  while (at < input.length) {
    let bestLength = 0;
    let bestDistance = 0;
    for (let from = Math.max(0, at - 8192); from < at; from++) {
      let length = 0;
      while (length < 264 && at + length < input.length && input[from + length] === input[at + length])
        length++;
      if (length > bestLength) {
        bestLength = length;
        bestDistance = at - from;
      }
    }
    if (bestLength < 3) {
      literals.push(input[at] as number);
      at++;
      continue;
    }
    flushLiterals();
    const length = bestLength - 2;
    const offset = bestDistance - 1;
    if (length < 7) out.push((length << 5) | (offset >> 8));
    else out.push((7 << 5) | (offset >> 8), length - 7);
    out.push(offset & 0xff);
    at += bestLength;
  }
  flushLiterals();
  return Buffer.from(out);
}

/** One RDB string in a chosen encoding (rdbSaveRawString / rdbTryIntegerEncoding / rdbSaveLzfBlob). */
export type RdbStringEncoding = 'raw' | 'int8' | 'int16' | 'int32' | 'lzf';

export function rdbString(value: Bytes, encoding: RdbStringEncoding = 'raw'): Buffer {
  const bytes = bytesOf(value);
  switch (encoding) {
    case 'raw':
      return concat([rdbLength(bytes.length), bytes]);
    case 'int8': {
      const out = Buffer.alloc(2);
      out[0] = 0xc0;
      out.writeInt8(Number(bytes.toString('latin1')), 1);
      return out;
    }
    case 'int16': {
      const out = Buffer.alloc(3);
      out[0] = 0xc1;
      out.writeInt16LE(Number(bytes.toString('latin1')), 1);
      return out;
    }
    case 'int32': {
      const out = Buffer.alloc(5);
      out[0] = 0xc2;
      out.writeInt32LE(Number(bytes.toString('latin1')), 1);
      return out;
    }
    case 'lzf': {
      const compressed = lzfCompress(bytes);
      return concat([Buffer.of(0xc3), rdbLength(compressed.length), rdbLength(bytes.length), compressed]);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// ziplist (ziplist.c)

export type ZiplistIntWidth = 'imm' | 8 | 16 | 24 | 32 | 64;
/** A ziplist or listpack entry: a byte string, or an integer in an explicit (or the smallest) width. */
export type PackedEntry = Bytes | { int: number | bigint; width?: ZiplistIntWidth | ListpackIntWidth };

function smallestZiplistWidth(value: bigint): ZiplistIntWidth {
  if (value >= 0n && value <= 12n) return 'imm';
  if (value >= -128n && value <= 127n) return 8;
  if (value >= -32768n && value <= 32767n) return 16;
  if (value >= -8388608n && value <= 8388607n) return 24;
  if (value >= -2147483648n && value <= 2147483647n) return 32;
  return 64;
}

function ziplistEntryBody(entry: PackedEntry): Buffer {
  if (typeof entry === 'string' || Buffer.isBuffer(entry)) {
    const data = bytesOf(entry);
    const length = data.length;
    let header: Buffer;
    if (length <= 0x3f) header = Buffer.of(length);
    else if (length <= 0x3fff) header = Buffer.of(0x40 | (length >> 8), length & 0xff);
    else {
      header = Buffer.alloc(5);
      header[0] = 0x80;
      header.writeUInt32BE(length, 1);
    }
    return concat([header, data]);
  }
  const value = BigInt(entry.int);
  const width = (entry.width ?? smallestZiplistWidth(value)) as ZiplistIntWidth;
  switch (width) {
    case 'imm':
      if (value < 0n || value > 12n) throw new Error(`ziplist immediate out of range: ${value}`);
      return Buffer.of(0xf1 + Number(value));
    case 8: {
      const out = Buffer.alloc(2);
      out[0] = 0xfe;
      out.writeInt8(Number(value), 1);
      return out;
    }
    case 16: {
      const out = Buffer.alloc(3);
      out[0] = 0xc0;
      out.writeInt16LE(Number(value), 1);
      return out;
    }
    case 24: {
      const out = Buffer.alloc(4);
      out[0] = 0xf0;
      out.writeIntLE(Number(value), 1, 3);
      return out;
    }
    case 32: {
      const out = Buffer.alloc(5);
      out[0] = 0xd0;
      out.writeInt32LE(Number(value), 1);
      return out;
    }
    case 64: {
      const out = Buffer.alloc(9);
      out[0] = 0xe0;
      out.writeBigInt64LE(value, 1);
      return out;
    }
  }
}

/** `<zlbytes u32><zltail u32><zllen u16><entry: prevlen, encoding, data>…<0xFF>` (all little-endian). */
export function ziplist(entries: readonly PackedEntry[]): Buffer {
  const encoded: Buffer[] = [];
  let previousLength = 0;
  let offset = 10;
  let tail = 10;
  for (const entry of entries) {
    let prevlen: Buffer;
    if (previousLength < 254) prevlen = Buffer.of(previousLength);
    else {
      prevlen = Buffer.alloc(5);
      prevlen[0] = 0xfe;
      prevlen.writeUInt32LE(previousLength, 1);
    }
    const whole = concat([prevlen, ziplistEntryBody(entry)]);
    tail = offset;
    offset += whole.length;
    previousLength = whole.length;
    encoded.push(whole);
  }
  const header = Buffer.alloc(10);
  header.writeUInt32LE(offset + 1, 0);
  header.writeUInt32LE(tail, 4);
  header.writeUInt16LE(Math.min(entries.length, 0xffff), 8);
  return concat([header, ...encoded, Buffer.of(0xff)]);
}

// ---------------------------------------------------------------------------------------------------
// listpack (listpack.c)

export type ListpackIntWidth = 7 | 13 | 16 | 24 | 32 | 64;

function smallestListpackWidth(value: bigint): ListpackIntWidth {
  if (value >= 0n && value <= 127n) return 7;
  if (value >= -4096n && value <= 4095n) return 13;
  if (value >= -32768n && value <= 32767n) return 16;
  if (value >= -8388608n && value <= 8388607n) return 24;
  if (value >= -2147483648n && value <= 2147483647n) return 32;
  return 64;
}

function listpackEntryBody(entry: PackedEntry): Buffer {
  if (typeof entry === 'string' || Buffer.isBuffer(entry)) {
    const data = bytesOf(entry);
    const length = data.length;
    let header: Buffer;
    if (length < 64) header = Buffer.of(0x80 | length);
    else if (length < 4096) header = Buffer.of(0xe0 | (length >> 8), length & 0xff);
    else {
      header = Buffer.alloc(5);
      header[0] = 0xf0;
      header.writeUInt32LE(length, 1);
    }
    return concat([header, data]);
  }
  const value = BigInt(entry.int);
  const width = (entry.width ?? smallestListpackWidth(value)) as ListpackIntWidth;
  switch (width) {
    case 7:
      if (value < 0n || value > 127n) throw new Error(`listpack 7-bit uint out of range: ${value}`);
      return Buffer.of(Number(value));
    case 13: {
      const unsigned = Number(value < 0n ? value + 8192n : value);
      return Buffer.of(0xc0 | (unsigned >> 8), unsigned & 0xff);
    }
    case 16: {
      const out = Buffer.alloc(3);
      out[0] = 0xf1;
      out.writeInt16LE(Number(value), 1);
      return out;
    }
    case 24: {
      const out = Buffer.alloc(4);
      out[0] = 0xf2;
      out.writeIntLE(Number(value), 1, 3);
      return out;
    }
    case 32: {
      const out = Buffer.alloc(5);
      out[0] = 0xf3;
      out.writeInt32LE(Number(value), 1);
      return out;
    }
    case 64: {
      const out = Buffer.alloc(9);
      out[0] = 0xf4;
      out.writeBigInt64LE(value, 1);
      return out;
    }
  }
}

/** lpEncodeBacklen: the entry length in 7-bit groups, most significant first, continuation bits on all but the first. */
export function listpackBacklen(length: number): Buffer {
  const size = length <= 127 ? 1 : length < 16383 ? 2 : length < 2097151 ? 3 : length < 268435455 ? 4 : 5;
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) {
    const group = Math.floor(length / 2 ** (7 * (size - 1 - i))) & 127;
    out[i] = i === 0 ? group : group | 128;
  }
  return out;
}

/** `<total bytes u32><count u16><entry: encoding, data, backlen>…<0xFF>`. */
export function listpack(entries: readonly PackedEntry[]): Buffer {
  const encoded = entries.map((entry) => {
    const body = listpackEntryBody(entry);
    return concat([body, listpackBacklen(body.length)]);
  });
  const header = Buffer.alloc(6);
  const total = 6 + encoded.reduce((sum, entry) => sum + entry.length, 0) + 1;
  header.writeUInt32LE(total, 0);
  header.writeUInt16LE(Math.min(entries.length, 65535), 4);
  return concat([header, ...encoded, Buffer.of(0xff)]);
}

/** The entry Redis would write for a string (an integer when it is a canonical int64, as lpAppend). */
export function asStoredByRedis(text: string): PackedEntry {
  if (/^(0|-?[1-9][0-9]{0,18})$/.test(text)) {
    const value = BigInt(text);
    if (value >= -(2n ** 63n) && value < 2n ** 63n) return { int: value };
  }
  return text;
}

// ---------------------------------------------------------------------------------------------------
// intset (intset.c) and zipmap (zipmap.c)

export function intset(width: 2 | 4 | 8, values: readonly (number | bigint)[]): Buffer {
  const out = Buffer.alloc(8 + width * values.length);
  out.writeUInt32LE(width, 0);
  out.writeUInt32LE(values.length, 4);
  values.forEach((value, i) => {
    const at = 8 + i * width;
    if (width === 2) out.writeInt16LE(Number(value), at);
    else if (width === 4) out.writeInt32LE(Number(value), at);
    else out.writeBigInt64LE(BigInt(value), at);
  });
  return out;
}

function zipmapLength(length: number): Buffer {
  if (length < 254) return Buffer.of(length);
  const out = Buffer.alloc(5);
  out[0] = 254;
  out.writeUInt32LE(length, 1);
  return out;
}

/** `<zmlen><len>field<len><free>value<free bytes>…<0xFF>`; `free` pads values like an updated zipmap. */
export function zipmap(pairs: readonly (readonly [Bytes, Bytes, number?])[]): Buffer {
  const parts: Buffer[] = [Buffer.of(Math.min(pairs.length, 254))];
  for (const [field, value, free = 0] of pairs) {
    const fieldBytes = bytesOf(field);
    const valueBytes = bytesOf(value);
    parts.push(
      zipmapLength(fieldBytes.length),
      fieldBytes,
      zipmapLength(valueBytes.length),
      Buffer.of(free),
      valueBytes,
      Buffer.alloc(free, 0x2a),
    );
  }
  parts.push(Buffer.of(0xff));
  return concat(parts);
}

// ---------------------------------------------------------------------------------------------------
// Serialized values (rdbSaveObject), without the type byte

export const stringValue = (value: Bytes, encoding: RdbStringEncoding = 'raw'): Buffer =>
  rdbString(value, encoding);

/** Types 1 (list) and 2 (set): a count then strings. */
export const stringsValue = (elements: readonly Bytes[]): Buffer =>
  concat([rdbLength(elements.length), ...elements.map((element) => rdbString(element))]);

/** Type 4 (hash): a pair count then field, value strings. */
export const hashValue = (pairs: readonly (readonly [Bytes, Bytes])[]): Buffer =>
  concat([
    rdbLength(pairs.length),
    ...pairs.flatMap(([field, value]) => [rdbString(field), rdbString(value)]),
  ]);

/** A type 3 score: one length byte then the text, or 253 NaN, 254 +inf, 255 -inf (rdbSaveDoubleValue). */
export function oldScore(score: number): Buffer {
  if (Number.isNaN(score)) return Buffer.of(253);
  if (score === Number.POSITIVE_INFINITY) return Buffer.of(254);
  if (score === Number.NEGATIVE_INFINITY) return Buffer.of(255);
  const text = Buffer.from(String(score), 'latin1');
  return concat([Buffer.of(text.length), text]);
}

/** Type 3 (zset, scores as text). */
export const zsetOldValue = (pairs: readonly (readonly [Bytes, number])[]): Buffer =>
  concat([
    rdbLength(pairs.length),
    ...pairs.flatMap(([member, score]) => [rdbString(member), oldScore(score)]),
  ]);

/** Type 5 (zset2, scores as binary doubles). */
export function zset2Value(pairs: readonly (readonly [Bytes, number])[]): Buffer {
  return concat([
    rdbLength(pairs.length),
    ...pairs.flatMap(([member, score]) => {
      const double = Buffer.alloc(8);
      double.writeDoubleLE(score, 0);
      return [rdbString(member), double];
    }),
  ]);
}

/** Types 9–13, 16, 17, 20: the blob as one RDB string (raw or LZF as Redis does with rdbcompression). */
export const blobValue = (blob: Buffer, encoding: 'raw' | 'lzf' = 'raw'): Buffer => rdbString(blob, encoding);

/** Type 14: quicklist of ziplists. */
export const quicklistValue = (ziplists: readonly Buffer[], encoding: 'raw' | 'lzf' = 'raw'): Buffer =>
  concat([rdbLength(ziplists.length), ...ziplists.map((blob) => rdbString(blob, encoding))]);

/** Type 18: quicklist 2, each node `len container (1 plain, 2 packed)` + blob. */
export const quicklist2Value = (nodes: readonly { container: 1 | 2; blob: Buffer }[]): Buffer =>
  concat([
    rdbLength(nodes.length),
    ...nodes.flatMap((node) => [rdbLength(node.container), rdbString(node.blob)]),
  ]);

// ---------------------------------------------------------------------------------------------------
// Streams (t_stream.c listpack layout, rdb.c stream serialization)

export interface StreamId {
  ms: number;
  seq: number;
}

export interface StreamEntrySpec extends StreamId {
  /** field, value, field, value … */
  fields: readonly string[];
  deleted?: boolean;
}

export interface StreamGroupSpec {
  name: string;
  lastId: StreamId;
  /** Written from stream v2 on. */
  entriesRead?: number;
  pel: readonly { id: StreamId; deliveryTime: number; deliveryCount: number }[];
  consumers: readonly { name: string; seenTime: number; activeTime?: number; pel: readonly StreamId[] }[];
}

export interface StreamSpec {
  /** Entries of each listpack node, in ID order. */
  nodes: readonly (readonly StreamEntrySpec[])[];
  lastId: StreamId;
  firstId?: StreamId;
  maxDeletedId?: StreamId;
  entriesAdded?: number;
  groups: readonly StreamGroupSpec[];
}

/** The 16-byte big-endian ID used as rax key and in PELs (streamEncodeID). */
export function rawStreamId(id: StreamId): Buffer {
  const out = Buffer.alloc(16);
  out.writeBigUInt64BE(BigInt(id.ms), 0);
  out.writeBigUInt64BE(BigInt(id.seq), 8);
  return out;
}

/**
 * One stream node: master entry `count, deleted, #fields, fields…, 0`, then per entry
 * `flags, ms-diff, seq-diff, (values… | #fields, field, value…), lp-count` (streamAppendItem).
 */
export function streamListpack(entries: readonly StreamEntrySpec[]): { master: StreamId; blob: Buffer } {
  const first = entries[0];
  if (!first) throw new Error('a stream node needs an entry');
  const master = { ms: first.ms, seq: first.seq };
  const masterFields = first.fields.filter((_, i) => i % 2 === 0);
  const live = entries.filter((entry) => !entry.deleted).length;
  const items: PackedEntry[] = [
    { int: live },
    { int: entries.length - live },
    { int: masterFields.length },
    ...masterFields.map(asStoredByRedis),
    { int: 0 },
  ];
  for (const entry of entries) {
    const fields = entry.fields.filter((_, i) => i % 2 === 0);
    const values = entry.fields.filter((_, i) => i % 2 === 1);
    const same =
      fields.length === masterFields.length && fields.every((field, i) => field === masterFields[i]);
    const flags = (entry.deleted ? 1 : 0) | (same ? 2 : 0);
    items.push({ int: flags }, { int: entry.ms - master.ms }, { int: entry.seq - master.seq });
    if (same) {
      items.push(...values.map(asStoredByRedis), { int: fields.length + 3 });
    } else {
      items.push({ int: fields.length }, ...entry.fields.map(asStoredByRedis), {
        int: 2 * fields.length + 4,
      });
    }
  }
  return { master, blob: listpack(items) };
}

const millisecondTime = (ms: number): Buffer => {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(ms), 0);
  return out;
};

/** Types 15 (v1), 19 (v2: first/max-deleted IDs, entries added, entries read) and 21 (v3: consumer active time). */
export function streamValue(version: 1 | 2 | 3, spec: StreamSpec): Buffer {
  const parts: Buffer[] = [rdbLength(spec.nodes.length)];
  let length = 0;
  for (const node of spec.nodes) {
    const { master, blob } = streamListpack(node);
    parts.push(rdbString(rawStreamId(master)), rdbString(blob));
    length += node.filter((entry) => !entry.deleted).length;
  }
  parts.push(rdbLength(length), rdbLength(spec.lastId.ms), rdbLength(spec.lastId.seq));
  if (version >= 2) {
    const firstId = spec.firstId ?? { ms: 0, seq: 0 };
    const maxDeleted = spec.maxDeletedId ?? { ms: 0, seq: 0 };
    parts.push(
      rdbLength(firstId.ms),
      rdbLength(firstId.seq),
      rdbLength(maxDeleted.ms),
      rdbLength(maxDeleted.seq),
      rdbLength(spec.entriesAdded ?? length),
    );
  }
  parts.push(rdbLength(spec.groups.length));
  for (const group of spec.groups) {
    parts.push(rdbString(group.name), rdbLength(group.lastId.ms), rdbLength(group.lastId.seq));
    if (version >= 2) parts.push(rdbLength(group.entriesRead ?? 0));
    parts.push(rdbLength(group.pel.length));
    for (const nack of group.pel) {
      parts.push(rawStreamId(nack.id), millisecondTime(nack.deliveryTime), rdbLength(nack.deliveryCount));
    }
    parts.push(rdbLength(group.consumers.length));
    for (const consumer of group.consumers) {
      parts.push(rdbString(consumer.name), millisecondTime(consumer.seenTime));
      if (version >= 3) parts.push(millisecondTime(consumer.activeTime ?? consumer.seenTime));
      parts.push(rdbLength(consumer.pel.length), ...consumer.pel.map(rawStreamId));
    }
  }
  return concat(parts);
}

// ---------------------------------------------------------------------------------------------------
// Whole RDB files (rdbSaveRio)

export const TYPE = {
  string: 0,
  list: 1,
  set: 2,
  zset: 3,
  hash: 4,
  zset2: 5,
  hashZipmap: 9,
  listZiplist: 10,
  setIntset: 11,
  zsetZiplist: 12,
  hashZiplist: 13,
  listQuicklist: 14,
  streamListpacks: 15,
  hashListpack: 16,
  zsetListpack: 17,
  listQuicklist2: 18,
  streamListpacks2: 19,
  setListpack: 20,
  streamListpacks3: 21,
  hashMetadataPreGa: 22,
  hashListpackExPreGa: 23,
  hashMetadata: 24,
  hashListpackEx: 25,
} as const;

export class RdbFileBuilder {
  private readonly parts: Buffer[] = [];

  constructor(readonly version: number) {
    this.parts.push(Buffer.from(`REDIS${String(version).padStart(4, '0')}`, 'latin1'));
  }

  aux(key: string, value: Bytes): this {
    this.parts.push(Buffer.of(0xfa), rdbString(key), rdbString(value));
    return this;
  }

  selectDb(db: number): this {
    this.parts.push(Buffer.of(0xfe), rdbLength(db));
    return this;
  }

  resizeDb(size: number, expires: number): this {
    this.parts.push(Buffer.of(0xfb), rdbLength(size), rdbLength(expires));
    return this;
  }

  /** RDB_OPCODE_SLOT_INFO: slot id, slot size, expires slot size. */
  slotInfo(slot: number, size: number, expires: number): this {
    this.parts.push(Buffer.of(0xf4), rdbLength(slot), rdbLength(size), rdbLength(expires));
    return this;
  }

  function2(code: string): this {
    this.parts.push(Buffer.of(0xf5), rdbString(code));
    return this;
  }

  /**
   * One key: optional EXPIRETIME_MS (u64 LE) or legacy EXPIRETIME (u32 LE seconds), IDLE, FREQ, then
   * type, key, value.
   */
  entry(
    type: number,
    key: Bytes,
    value: Buffer,
    options: { expireMs?: number; expireSeconds?: number; idle?: number; freq?: number } = {},
  ): this {
    if (options.expireMs !== undefined) this.parts.push(Buffer.of(0xfc), millisecondTime(options.expireMs));
    if (options.expireSeconds !== undefined) {
      const seconds = Buffer.alloc(4);
      seconds.writeUInt32LE(options.expireSeconds, 0);
      this.parts.push(Buffer.of(0xfd), seconds);
    }
    if (options.idle !== undefined) this.parts.push(Buffer.of(0xf8), rdbLength(options.idle));
    if (options.freq !== undefined) this.parts.push(Buffer.of(0xf9, options.freq));
    this.parts.push(Buffer.of(type), rdbString(key), value);
    return this;
  }

  /** EOF, then (RDB ≥ 5) the CRC64 of everything before as u64 LE, or 0 when `checksum` is false. */
  finish(checksum = true): Buffer {
    const body = concat([...this.parts, Buffer.of(0xff)]);
    if (this.version < 5) return body;
    const footer = Buffer.alloc(8);
    if (checksum) footer.writeBigUInt64LE(crc64(body), 0);
    return concat([body, footer]);
  }
}

// ---------------------------------------------------------------------------------------------------
// Hashes with field expirations (Redis 7.4: rdb.c rdbSaveObject, t_hash.c listpackEx)

/** rdbTryIntegerEncoding: a canonical integer of ≤ 11 characters that fits int8/int16/int32. */
function integerEncodingOf(text: string): RdbStringEncoding | undefined {
  if (text.length > 11 || !/^(0|-?[1-9][0-9]*)$/.test(text)) return undefined;
  const value = Number(text);
  if (value >= -128 && value <= 127) return 'int8';
  if (value >= -32768 && value <= 32767) return 'int16';
  if (value >= -2147483648 && value <= 2147483647) return 'int32';
  return undefined;
}

/**
 * rdbSaveRawString with rdbcompression on: integer encoding for short integers, LZF for strings
 * longer than 20 bytes when the compressed form fits in `len - 4` bytes (rdbSaveLzfStringObject),
 * the plain string otherwise.
 */
export function savedString(value: Bytes): Buffer {
  const bytes = bytesOf(value);
  const integer = integerEncodingOf(bytes.toString('latin1'));
  if (integer) return rdbString(bytes, integer);
  if (bytes.length > 20 && lzfCompress(bytes).length <= bytes.length - 4) return rdbString(bytes, 'lzf');
  return rdbString(bytes);
}

/** One hash field and its absolute expiry in ms (none when undefined). */
export interface ExpiringField {
  field: string;
  value: string;
  expireAtMs?: number;
}

/**
 * Types 24 (GA) and 22 (7.4 RCs): a dict-encoded hash with at least one field TTL. rdbSaveObject
 * (OBJ_ENCODING_HT): 24 writes `minExpire = hashTypeGetMinExpire(o, 1)` with rdbSaveMillisecondTime
 * (u64 LE), then rdbSaveLen(fields), then per field `rdbSaveLen(ttl)`, field, value, where ttl is 0
 * without TTL and `expiryTime - minExpire + 1` otherwise. 22 has no min expiry and ttl = expiryTime.
 */
export function hashMetadataValue(fields: readonly ExpiringField[], layout: 'ga' | 'pre-ga'): Buffer {
  const expiries = fields.flatMap((item) => (item.expireAtMs === undefined ? [] : [item.expireAtMs]));
  if (expiries.length === 0) throw new Error('Redis saves a hash without field TTLs as type 4');
  const minExpire = Math.min(...expiries);
  const parts: Buffer[] = [];
  if (layout === 'ga') parts.push(millisecondTime(minExpire));
  parts.push(rdbLength(fields.length));
  for (const item of fields) {
    const ttl =
      item.expireAtMs === undefined ? 0 : layout === 'ga' ? item.expireAtMs - minExpire + 1 : item.expireAtMs;
    parts.push(rdbLength(ttl), savedString(item.field), savedString(item.value));
  }
  return concat(parts);
}

/**
 * The order a listpackEx keeps (t_hash.c listpackExAddInternal): a field without TTL is appended; a
 * field with one goes before the first field whose TTL is 0 (none) or ≥ its own.
 */
export function listpackExOrder(fields: readonly ExpiringField[]): ExpiringField[] {
  const ordered: ExpiringField[] = [];
  for (const item of fields) {
    const expireAt = item.expireAtMs;
    const at =
      expireAt === undefined
        ? -1
        : ordered.findIndex((other) => other.expireAtMs === undefined || other.expireAtMs >= expireAt);
    if (at < 0) ordered.push(item);
    else ordered.splice(at, 0, item);
  }
  return ordered;
}

/**
 * Types 25 (GA) and 23 (7.4 RCs): a listpackEx hash. rdbSaveObject (OBJ_ENCODING_LISTPACK_EX): 25
 * first writes `hashTypeGetMinExpire(o, 0)` (0 when invalid) as u64 LE; both then write the listpack as
 * one string. Its entries are `field, value, ttl` triplets (listpackExAddNew: field and value as
 * strings — integers when lpEncodeGetType can — and ttl as an integer, the absolute expiry in ms or
 * HASH_LP_NO_TTL = 0), inserted in `fields` order as listpackExAddInternal does. The min expiry is
 * the hash's registered next expiry, which can lag behind its fields (`minExpireMs` sets it).
 */
export function hashListpackExValue(
  fields: readonly ExpiringField[],
  layout: 'ga' | 'pre-ga',
  options: { encoding?: 'raw' | 'lzf'; minExpireMs?: number } = {},
): Buffer {
  const ordered = listpackExOrder(fields);
  const blob = listpack(
    ordered.flatMap((item) => [
      asStoredByRedis(item.field),
      asStoredByRedis(item.value),
      { int: item.expireAtMs ?? 0 },
    ]),
  );
  const parts: Buffer[] = [];
  if (layout === 'ga') parts.push(millisecondTime(options.minExpireMs ?? ordered[0]?.expireAtMs ?? 0));
  parts.push(rdbString(blob, options.encoding ?? 'raw'));
  return concat(parts);
}
