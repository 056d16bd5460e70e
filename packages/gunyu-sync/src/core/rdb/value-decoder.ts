import { GUNYU_ERROR_CODES, GunyuError } from '../errors';
import { formatScore } from './aggregate-walker';
import { ByteCursor } from './byte-cursor';
import { decodeIntset, decodeListpack, decodeZiplist, decodeZipmap, type Element } from './encodings';
import { RDB_TYPE } from './rdb-constants';

export interface StreamEntry {
  id: string;
  fields: Element[];
}

export type DecodedValue =
  | { kind: 'string'; value: Buffer }
  | { kind: 'list'; elements: Element[] }
  | { kind: 'set'; members: Element[] }
  /** member, score, member, score … (scores as text). */
  | { kind: 'zset'; pairs: Element[] }
  /**
   * field, value, field, value … With field expirations (types 22–25, at least one field with a TTL):
   * `fieldExpiresMs[i]` is the absolute expiry in ms of field `pairs[2 * i]`, or -1 when it has none.
   */
  | { kind: 'hash'; pairs: Element[]; fieldExpiresMs?: number[] }
  | {
      kind: 'stream';
      entries: StreamEntry[];
      lastId: string;
      entriesAdded?: number;
      maxDeletedId?: string;
      /** Consumer groups in the value: counted, not decoded (only RESTORE carries them). */
      consumerGroups: number;
    };

function pairsFromZsetListpack(elements: Element[]): Element[] {
  return elements;
}

/** ebuckets.h EB_EXPIRE_TIME_MAX: a field expiry above it is corrupt (rdb.c rdbLoadObject). */
const FIELD_EXPIRE_MAX_MS = 2 ** 48 - 1;

function hashWithExpires(pairs: Element[], expires: number[]): DecodedValue {
  return expires.some((expireAtMs) => expireAtMs >= 0)
    ? { kind: 'hash', pairs, fieldExpiresMs: expires }
    : { kind: 'hash', pairs };
}

/**
 * Types 22/24, a dict-encoded hash with field TTLs (rdb.c rdbSaveObject / rdbLoadObject, redis 7.4.0
 * and unstable 2024-10): 24 starts with the hash's min field expiry (rdbSaveMillisecondTime, u64 LE
 * ms), then both have `len` and per field `len ttl, string field, string value`. ttl 0 means no TTL;
 * otherwise 24 stores `expireAt - minExpire + 1` and 22 (7.4 RCs) stores `expireAt` itself. Expired
 * fields are kept: rdbLoadObject loads every field "blindly" (redis PR #13347) and leaves expiry to
 * the server.
 */
function decodeHashMetadata(cursor: ByteCursor, type: number): DecodedValue {
  let minExpire = 0;
  if (type === RDB_TYPE.hashMetadata) {
    minExpire = cursor.readUint64LE();
    if (minExpire > FIELD_EXPIRE_MAX_MS + 1) throw cursor.corrupted('hash with invalid min field expiry');
  }
  const count = cursor.readPlainLength();
  const pairs: Element[] = [];
  const expires: number[] = [];
  for (let i = 0; i < count; i++) {
    const ttl = cursor.readPlainLength();
    const expireAt = ttl === 0 ? 0 : type === RDB_TYPE.hashMetadata ? ttl + minExpire - 1 : ttl;
    if (expireAt > FIELD_EXPIRE_MAX_MS) throw cursor.corrupted(`invalid hash field expiry ${expireAt}`);
    pairs.push(cursor.readString(), cursor.readString());
    expires.push(expireAt === 0 ? -1 : expireAt);
  }
  return hashWithExpires(pairs, expires);
}

/**
 * Types 23/25, a listpackEx hash (t_hash.c listpackExAddNew): triplets `field, value, ttl` where ttl
 * is the absolute expiry in ms as a listpack integer, HASH_LP_NO_TTL (0) for none; fields with a TTL
 * come first, in expiry order. 25 is preceded by the hash's min expiry (u64 LE, 0 if none), which
 * rdbLoadObject reads and ignores.
 */
function decodeHashListpackEx(cursor: ByteCursor, type: number): DecodedValue {
  if (type === RDB_TYPE.hashListpackEx) cursor.skip(8);
  const elements = decodeListpack(cursor.readString());
  if (elements.length % 3 !== 0) throw cursor.corrupted('hash listpack with field expiries: not triplets');
  const pairs: Element[] = [];
  const expires: number[] = [];
  for (let i = 0; i < elements.length; i += 3) {
    const text = (elements[i + 2] as Buffer).toString('latin1');
    const expireAt = /^[0-9]{1,15}$/.test(text) ? Number(text) : Number.NaN;
    if (!(expireAt <= FIELD_EXPIRE_MAX_MS)) throw cursor.corrupted(`invalid hash field expiry ${text}`);
    pairs.push(elements[i] as Buffer, elements[i + 1] as Buffer);
    expires.push(expireAt === 0 ? -1 : expireAt);
  }
  return hashWithExpires(pairs, expires);
}

function decodeStreamNodes(cursor: ByteCursor, type: number): DecodedValue {
  const nodes = cursor.readPlainLength();
  const entries: StreamEntry[] = [];
  for (let n = 0; n < nodes; n++) {
    const masterKey = cursor.readString();
    const masterMs = masterKey.readBigUInt64BE(0);
    const masterSeq = masterKey.readBigUInt64BE(8);
    const elements = decodeListpack(cursor.readString());
    const asNumber = (index: number): number => Number((elements[index] as Buffer).toString('latin1'));
    const masterFieldCount = asNumber(2);
    const masterFields = elements.slice(3, 3 + masterFieldCount);
    let at = 3 + masterFieldCount + 1; // skip the master entry's terminating 0
    while (at < elements.length) {
      const flags = asNumber(at);
      const ms = masterMs + BigInt((elements[at + 1] as Buffer).toString('latin1'));
      const seq = masterSeq + BigInt((elements[at + 2] as Buffer).toString('latin1'));
      at += 3;
      const fields: Element[] = [];
      if (flags & 2) {
        for (const field of masterFields) fields.push(field, elements[at++] as Buffer);
      } else {
        const count = asNumber(at++);
        for (let i = 0; i < count * 2; i++) fields.push(elements[at++] as Buffer);
      }
      at += 1; // lp-count
      if (!(flags & 1)) entries.push({ id: `${ms}-${seq}`, fields });
    }
  }
  cursor.readPlainLength();
  const lastMs = cursor.readPlainLength();
  const lastSeq = cursor.readPlainLength();
  const value: DecodedValue = { kind: 'stream', entries, lastId: `${lastMs}-${lastSeq}`, consumerGroups: 0 };
  if (type >= RDB_TYPE.streamListpacks2) {
    cursor.readPlainLength(); // first id ms
    cursor.readPlainLength(); // first id seq
    const maxDeletedMs = cursor.readPlainLength();
    const maxDeletedSeq = cursor.readPlainLength();
    value.maxDeletedId = `${maxDeletedMs}-${maxDeletedSeq}`;
    value.entriesAdded = cursor.readPlainLength();
  }
  value.consumerGroups = cursor.readPlainLength();
  return value;
}

/**
 * Materialises a raw RDB value (as emitted by the parser) for the command fallback path.
 * Stream consumer groups are not decoded (they only travel through RESTORE).
 */
export function decodeValue(type: number, raw: Buffer): DecodedValue {
  const cursor = new ByteCursor(raw);
  switch (type) {
    case RDB_TYPE.string:
      return { kind: 'string', value: cursor.readString() };
    case RDB_TYPE.list:
    case RDB_TYPE.set: {
      const count = cursor.readPlainLength();
      const elements: Element[] = [];
      for (let i = 0; i < count; i++) elements.push(cursor.readString());
      return type === RDB_TYPE.list ? { kind: 'list', elements } : { kind: 'set', members: elements };
    }
    case RDB_TYPE.zset:
    case RDB_TYPE.zset2: {
      const count = cursor.readPlainLength();
      const pairs: Element[] = [];
      for (let i = 0; i < count; i++) {
        const member = cursor.readString();
        const score = type === RDB_TYPE.zset ? cursor.readDoubleString() : formatScore(cursor.readDoubleLE());
        pairs.push(member, Buffer.from(score));
      }
      return { kind: 'zset', pairs };
    }
    case RDB_TYPE.hash: {
      const count = cursor.readPlainLength();
      const pairs: Element[] = [];
      for (let i = 0; i < count * 2; i++) pairs.push(cursor.readString());
      return { kind: 'hash', pairs };
    }
    case RDB_TYPE.hashZipmap:
      return { kind: 'hash', pairs: decodeZipmap(cursor.readString()) };
    case RDB_TYPE.listZiplist:
      return { kind: 'list', elements: decodeZiplist(cursor.readString()) };
    case RDB_TYPE.setIntset:
      return { kind: 'set', members: decodeIntset(cursor.readString()) };
    case RDB_TYPE.setListpack:
      return { kind: 'set', members: decodeListpack(cursor.readString()) };
    case RDB_TYPE.zsetZiplist:
      return { kind: 'zset', pairs: pairsFromZsetListpack(decodeZiplist(cursor.readString())) };
    case RDB_TYPE.zsetListpack:
      return { kind: 'zset', pairs: pairsFromZsetListpack(decodeListpack(cursor.readString())) };
    case RDB_TYPE.hashZiplist:
      return { kind: 'hash', pairs: decodeZiplist(cursor.readString()) };
    case RDB_TYPE.hashListpack:
      return { kind: 'hash', pairs: decodeListpack(cursor.readString()) };
    case RDB_TYPE.hashMetadataPreGa:
    case RDB_TYPE.hashMetadata:
      return decodeHashMetadata(cursor, type);
    case RDB_TYPE.hashListpackExPreGa:
    case RDB_TYPE.hashListpackEx:
      return decodeHashListpackEx(cursor, type);
    case RDB_TYPE.listQuicklist:
    case RDB_TYPE.listQuicklist2: {
      const nodes = cursor.readPlainLength();
      const elements: Element[] = [];
      for (let i = 0; i < nodes; i++) {
        if (type === RDB_TYPE.listQuicklist) {
          for (const element of decodeZiplist(cursor.readString())) elements.push(element);
          continue;
        }
        const container = cursor.readPlainLength();
        const blob = cursor.readString();
        if (container === 1) elements.push(blob);
        else for (const element of decodeListpack(blob)) elements.push(element);
      }
      return { kind: 'list', elements };
    }
    case RDB_TYPE.streamListpacks:
    case RDB_TYPE.streamListpacks2:
    case RDB_TYPE.streamListpacks3:
      return decodeStreamNodes(cursor, type);
    default:
      throw new GunyuError(GUNYU_ERROR_CODES.rdbUnsupported, `cannot rewrite RDB type ${type} as commands`);
  }
}

const CHUNK = 100;

/**
 * `HPEXPIREAT key ms FIELDS n field…` (Redis 7.4+) for the fields that carry an expiry: one command
 * per distinct expiry (fields saved by HPEXPIRE together usually share it), `chunkSize` fields at most.
 * A target older than 7.4 answers an unknown-command error to each, and the fields stay without TTL.
 */
function fieldExpireCommands(
  key: Buffer,
  pairs: Element[],
  expires: number[],
  chunkSize: number,
): Buffer[][] {
  const byExpiry = new Map<number, Element[]>();
  expires.forEach((expireAtMs, i) => {
    if (expireAtMs < 0) return;
    const fields = byExpiry.get(expireAtMs);
    if (fields) fields.push(pairs[2 * i] as Buffer);
    else byExpiry.set(expireAtMs, [pairs[2 * i] as Buffer]);
  });
  const commands: Buffer[][] = [];
  for (const [expireAtMs, fields] of [...byExpiry].sort(([a], [b]) => a - b)) {
    for (let i = 0; i < fields.length; i += chunkSize) {
      const chunk = fields.slice(i, i + chunkSize);
      commands.push([
        Buffer.from('HPEXPIREAT'),
        key,
        Buffer.from(String(expireAtMs)),
        Buffer.from('FIELDS'),
        Buffer.from(String(chunk.length)),
        ...chunk,
      ]);
    }
  }
  return commands;
}

/**
 * The commands that rebuild a decoded value (GunYu flushes every 100 elements). The key is deleted
 * first so a replace is exact; hash field expiries follow as HPEXPIREAT, the key's expiry as PEXPIREAT.
 */
export function valueToCommands(
  key: Buffer,
  value: DecodedValue,
  expireAtMs: number,
  chunkSize = CHUNK,
): Buffer[][] {
  const commands: Buffer[][] = [[Buffer.from('DEL'), key]];
  const chunked = (name: string, items: Element[], step: number): void => {
    for (let i = 0; i < items.length; i += chunkSize * step) {
      commands.push([Buffer.from(name), key, ...items.slice(i, i + chunkSize * step)]);
    }
  };
  switch (value.kind) {
    case 'string':
      commands.push([Buffer.from('SET'), key, value.value]);
      break;
    case 'list':
      chunked('RPUSH', value.elements, 1);
      break;
    case 'set':
      chunked('SADD', value.members, 1);
      break;
    case 'hash':
      chunked('HSET', value.pairs, 2);
      if (value.fieldExpiresMs)
        commands.push(...fieldExpireCommands(key, value.pairs, value.fieldExpiresMs, chunkSize));
      break;
    case 'zset': {
      const swapped: Element[] = [];
      for (let i = 0; i < value.pairs.length; i += 2)
        swapped.push(value.pairs[i + 1] as Buffer, value.pairs[i] as Buffer);
      chunked('ZADD', swapped, 2);
      break;
    }
    case 'stream':
      for (const entry of value.entries)
        commands.push([Buffer.from('XADD'), key, Buffer.from(entry.id), ...entry.fields]);
      commands.push(
        value.entriesAdded === undefined
          ? [Buffer.from('XSETID'), key, Buffer.from(value.lastId)]
          : [
              Buffer.from('XSETID'),
              key,
              Buffer.from(value.lastId),
              Buffer.from('ENTRIESADDED'),
              Buffer.from(String(value.entriesAdded)),
              Buffer.from('MAXDELETEDID'),
              Buffer.from(value.maxDeletedId ?? '0-0'),
            ],
      );
      break;
  }
  if (expireAtMs >= 0) commands.push([Buffer.from('PEXPIREAT'), key, Buffer.from(String(expireAtMs))]);
  return commands;
}
