import { type RedisProcess, seededRandom, startRedis } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUNYU_ERROR_CODES } from '../src/core/errors';
import { ByteCursor } from '../src/core/rdb/byte-cursor';
import { buildDumpPayload } from '../src/core/rdb/dump-payload';
import { valueKindOf } from '../src/core/rdb/rdb-constants';
import { parseRdb, type RdbEntry, type RdbEvent, RdbParser } from '../src/core/rdb/rdb-parser';
import { decodeValue, valueToCommands } from '../src/core/rdb/value-decoder';
import { skipValue } from '../src/core/rdb/value-skipper';
import { SyncCounters } from '../src/replay/sync-counters';
import {
  type ExpiringField,
  hashListpackExValue,
  hashMetadataValue,
  hashValue,
  listpack,
  listpackExOrder,
  RdbFileBuilder,
  rdbLength,
  savedString,
  stringValue,
  TYPE,
} from './rdb-builder';
import { describeRdbEvent, replayerInto } from './rdb-test-support';

/** A deterministic byte pattern of `length` printable characters. */
const text = (length: number, seed = 0): string =>
  Array.from({ length }, (_, i) => String.fromCharCode(33 + ((i * 7 + seed) % 90))).join('');

const NOW = Date.now();
const SOON = NOW + 600_000;
const LATER = NOW + 7_200_000;
/** Already past when the file is read: rdbLoadObject still loads the field (redis PR #13347). */
const PAST = NOW - 60_000;
const KEY_EXPIRE = NOW + 3_600_000;

/** Fields with and without TTL, a shared expiry, integer-encoded and LZF-compressed strings. */
const FIELDS: ExpiringField[] = [
  { field: 'plain', value: 'no ttl' },
  { field: 'soon-a', value: 'x', expireAtMs: SOON },
  { field: '12', value: '42', expireAtMs: LATER },
  { field: 'empty', value: '' },
  { field: 'soon-b', value: text(60, 1), expireAtMs: SOON },
  { field: 'stale', value: 'expired before the load', expireAtMs: PAST },
  { field: 'big-int', value: '9007199254740993' },
];

/** 250 fields: 175 share one expiry (two HPEXPIREAT chunks of ≤ 100), 25 have none. */
const MANY_FIELDS: ExpiringField[] = Array.from({ length: 250 }, (_, i) => {
  const field = { field: `f${i}`, value: i % 3 === 0 ? String(i * 1000) : text(10 + (i % 30), i) };
  const slot = i % 10;
  if (slot === 0) return field;
  return { ...field, expireAtMs: slot <= 7 ? SOON : slot === 8 ? LATER : LATER + 1 };
});

/** A listpackEx hash whose TTLs were all removed (HPERSIST): type 25, every ttl 0, min expiry 0. */
const PERSISTED_FIELDS: ExpiringField[] = [
  { field: 'a', value: '1' },
  { field: 'b', value: text(30, 2) },
];

interface HfeCase {
  key: string;
  type: number;
  fields: readonly ExpiringField[];
  value: Buffer;
  db?: number;
  expireMs?: number;
}

const CASES: HfeCase[] = [
  {
    key: 'hfe:dict',
    type: TYPE.hashMetadata,
    fields: FIELDS,
    value: hashMetadataValue(FIELDS, 'ga'),
    expireMs: KEY_EXPIRE,
  },
  {
    key: 'hfe:dict-pre-ga',
    type: TYPE.hashMetadataPreGa,
    fields: FIELDS,
    value: hashMetadataValue(FIELDS, 'pre-ga'),
  },
  {
    key: 'hfe:listpack',
    type: TYPE.hashListpackEx,
    fields: FIELDS,
    // The registered min expiry can lag behind the fields; loading ignores it.
    value: hashListpackExValue(FIELDS, 'ga', { minExpireMs: PAST - 5000 }),
    expireMs: KEY_EXPIRE + 1,
    db: 1,
  },
  {
    key: 'hfe:listpack-pre-ga',
    type: TYPE.hashListpackExPreGa,
    fields: FIELDS,
    value: hashListpackExValue(FIELDS, 'pre-ga', { encoding: 'lzf' }),
    db: 1,
  },
  {
    key: 'hfe:listpack-persisted',
    type: TYPE.hashListpackEx,
    fields: PERSISTED_FIELDS,
    value: hashListpackExValue(PERSISTED_FIELDS, 'ga'),
  },
  {
    key: 'hfe:dict-many',
    type: TYPE.hashMetadata,
    fields: MANY_FIELDS,
    value: hashMetadataValue(MANY_FIELDS, 'ga'),
    expireMs: KEY_EXPIRE + 2,
  },
];

/** Keys of older types around the new ones: the skipper must stop exactly at each value's end. */
const NEIGHBOURS = [
  { key: 'plain:string', type: TYPE.string, value: stringValue('after a hfe hash') },
  { key: 'plain:hash', type: TYPE.hash, value: hashValue([['f', 'v']]) },
];

function buildFile(): Buffer {
  const builder = new RdbFileBuilder(12).aux('redis-ver', '7.4.1').aux('redis-bits', '64');
  let db = -1;
  for (const item of CASES) {
    if ((item.db ?? 0) !== db) {
      db = item.db ?? 0;
      builder.selectDb(db).resizeDb(CASES.length, 3);
    }
    builder.entry(
      item.type,
      item.key,
      item.value,
      item.expireMs === undefined ? {} : { expireMs: item.expireMs },
    );
    const neighbour = NEIGHBOURS[CASES.indexOf(item) % NEIGHBOURS.length];
    if (neighbour && db === 0) builder.entry(neighbour.type, `${neighbour.key}:${item.key}`, neighbour.value);
  }
  return builder.finish();
}

const FILE = buildFile();

const isListpack = (type: number): boolean =>
  type === TYPE.hashListpackEx || type === TYPE.hashListpackExPreGa;

/** What decodeValue must return: fields in stored order, expiries only when some field has one. */
function expectedDecoded(item: HfeCase): { kind: 'hash'; pairs: Buffer[]; fieldExpiresMs?: number[] } {
  const stored = isListpack(item.type) ? listpackExOrder(item.fields) : item.fields;
  const pairs = stored.flatMap((field) => [Buffer.from(field.field), Buffer.from(field.value)]);
  const expires = stored.map((field) => field.expireAtMs ?? -1);
  return expires.some((expireAtMs) => expireAtMs >= 0)
    ? { kind: 'hash', pairs, fieldExpiresMs: expires }
    : { kind: 'hash', pairs };
}

/** HPEXPIREAT commands the rebuild sends: per distinct expiry, 100 fields per command. */
function expectedFieldExpireCommands(fields: readonly ExpiringField[]): number {
  const perExpiry = new Map<number, number>();
  for (const field of fields)
    if (field.expireAtMs !== undefined)
      perExpiry.set(field.expireAtMs, (perExpiry.get(field.expireAtMs) ?? 0) + 1);
  return [...perExpiry.values()].reduce((sum, count) => sum + Math.ceil(count / 100), 0);
}

const entriesOf = (events: RdbEvent[]): RdbEntry[] =>
  events.filter((event): event is RdbEntry => event.kind === 'entry');

const u64 = (value: number): Buffer => {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(value), 0);
  return out;
};

describe('RDB 12 hashes with field expirations (types 22–25)', () => {
  it('stores the listpackEx triplets ordered by TTL, fields without TTL last (as listpackExAddInternal)', () => {
    expect(listpackExOrder(FIELDS).map((field) => field.field)).toEqual([
      'stale',
      'soon-b',
      'soon-a',
      '12',
      'plain',
      'empty',
      'big-int',
    ]);
  });

  it('maps the four types to hashes', () => {
    for (const type of [22, 23, 24, 25]) expect(valueKindOf(type)).toBe('hash');
  });

  it('parses each key with its db, type and key expiry; decodeValue yields the fields and their absolute expiries', () => {
    const events = parseRdb(FILE);
    expect(events[0]).toEqual({ kind: 'header', version: 12 });
    const entries = entriesOf(events);
    const hfe = entries.filter((entry) => entry.key.toString('latin1').startsWith('hfe:'));
    expect(hfe.map((entry) => entry.key.toString('latin1'))).toEqual(CASES.map((item) => item.key));
    hfe.forEach((entry, i) => {
      const item = CASES[i] as HfeCase;
      expect({ db: entry.db, type: entry.type, expireAtMs: entry.expireAtMs }, item.key).toEqual({
        db: item.db ?? 0,
        type: item.type,
        expireAtMs: item.expireMs ?? -1,
      });
      expect(Buffer.compare(entry.value, item.value), item.key).toBe(0);
      expect(decodeValue(entry.type, entry.value), item.key).toStrictEqual(expectedDecoded(item));
    });
    for (const entry of entries.filter((candidate) =>
      candidate.key.toString('latin1').startsWith('plain:'),
    )) {
      const neighbour = NEIGHBOURS.find((candidate) =>
        entry.key.toString('latin1').startsWith(candidate.key),
      );
      expect(Buffer.compare(entry.value, neighbour?.value as Buffer)).toBe(0);
    }
    expect(entries).toHaveLength(CASES.length + CASES.filter((item) => (item.db ?? 0) === 0).length);
  });

  it('decodes the expiries written in each layout (relative + 1 after the min in 24, absolute in 22, 23, 25)', () => {
    const dict = hashMetadataValue(FIELDS, 'ga');
    expect(dict.readBigUInt64LE(0)).toBe(BigInt(PAST)); // the min expiry comes first
    // 'plain' (no TTL) is the first field: its ttl is 0; 'soon-a' follows with SOON - PAST + 1.
    expect(dict.subarray(8, 10)).toEqual(Buffer.concat([rdbLength(FIELDS.length), rdbLength(0)]));
    const decoded = decodeValue(TYPE.hashMetadata, dict);
    expect(decoded.kind === 'hash' && decoded.fieldExpiresMs).toEqual(
      FIELDS.map((field) => field.expireAtMs ?? -1),
    );
    const preGa = hashMetadataValue(FIELDS, 'pre-ga');
    expect(decodeValue(TYPE.hashMetadataPreGa, preGa)).toStrictEqual(decoded);
  });

  it('skips each value exactly and reports truncation', () => {
    for (const item of CASES) {
      const cursor = new ByteCursor(item.value);
      skipValue(cursor, item.type);
      expect(cursor.position, item.key).toBe(item.value.length);
      const truncated = new ByteCursor(item.value.subarray(0, item.value.length - 1));
      expect(() => skipValue(truncated, item.type), item.key).toThrow(/truncated/);
    }
  });

  it('rejects field expiries beyond EB_EXPIRE_TIME_MAX and listpacks that are not triplets', () => {
    const max = 2 ** 48 - 1;
    const dict = (ttl: number, minExpire: number): Buffer =>
      Buffer.concat([u64(minExpire), rdbLength(1), rdbLength(ttl), savedString('f'), savedString('v')]);
    expect(decodeValue(TYPE.hashMetadata, dict(max - 999, 1000))).toStrictEqual({
      kind: 'hash',
      pairs: [Buffer.from('f'), Buffer.from('v')],
      fieldExpiresMs: [max],
    });
    const corrupted = expect.objectContaining({ code: GUNYU_ERROR_CODES.rdbCorrupted });
    expect(() => decodeValue(TYPE.hashMetadata, dict(max - 998, 1000))).toThrow(corrupted);
    expect(() => decodeValue(TYPE.hashMetadata, dict(1, max + 2))).toThrow(corrupted);
    const preGa = (ttl: number): Buffer =>
      Buffer.concat([rdbLength(1), rdbLength(ttl), savedString('f'), savedString('v')]);
    expect(() => decodeValue(TYPE.hashMetadataPreGa, preGa(max + 1))).toThrow(corrupted);
    const packed = (entries: Parameters<typeof listpack>[0]): Buffer =>
      Buffer.concat([u64(0), savedString(listpack(entries))]);
    expect(() => decodeValue(TYPE.hashListpackEx, packed(['f', 'v', { int: 5 }, 'g']))).toThrow(corrupted);
    expect(() => decodeValue(TYPE.hashListpackEx, packed(['f', 'v', 'soon']))).toThrow(corrupted);
    expect(() => decodeValue(TYPE.hashListpackEx, packed(['f', 'v', { int: -1 }]))).toThrow(corrupted);
    expect(() => decodeValue(TYPE.hashListpackEx, packed(['f', 'v', { int: max + 1 }]))).toThrow(corrupted);
  });

  it('verifies the CRC64 footer of the file', () => {
    expect(parseRdb(FILE).at(-1)).toMatchObject({
      kind: 'end',
      checksum: FILE.readBigUInt64LE(FILE.length - 8),
    });
    const flipped = Buffer.from(FILE);
    const at = FILE.indexOf('soon-a'); // inside the first hfe value
    flipped[at] = (flipped[at] as number) ^ 0x01;
    expect(() => parseRdb(flipped)).toThrow(/checksum/);
    expect(entriesOf(parseRdb(flipped, { verifyChecksum: false }))).toHaveLength(
      entriesOf(parseRdb(FILE)).length,
    );
  });

  it('emits the same events byte by byte and at seeded random splits', () => {
    const expected = parseRdb(FILE).map(describeRdbEvent);
    const byByte = new RdbParser();
    const seen: string[] = [];
    for (let i = 0; i < FILE.length; i++) {
      for (const event of byByte.push(FILE.subarray(i, i + 1))) seen.push(describeRdbEvent(event));
    }
    expect(byByte.done).toBe(true);
    expect(seen).toEqual(expected);
    for (let seed = 1; seed <= 30; seed++) {
      const random = seededRandom(seed * 104729);
      const parser = new RdbParser({ maxBufferedValueBytes: 64 });
      const split: string[] = [];
      for (let at = 0; at < FILE.length; ) {
        const size = 1 + Math.floor(random() * (random() < 0.5 ? 16 : 2048));
        for (const event of parser.push(FILE.subarray(at, at + size))) split.push(describeRdbEvent(event));
        at += size;
      }
      expect(parser.done, `seed ${seed}`).toBe(true);
      expect(split, `seed ${seed}`).toEqual(expected);
    }
  });

  it('rebuilds with HSET chunks, then one HPEXPIREAT per distinct expiry (≤ 100 fields each), then PEXPIREAT', () => {
    const key = Buffer.from('k');
    const dict = CASES[0] as HfeCase;
    const commands = valueToCommands(key, decodeValue(dict.type, dict.value), KEY_EXPIRE).map((command) =>
      command.map((arg) => arg.toString('latin1')),
    );
    expect(commands).toEqual([
      ['DEL', 'k'],
      ['HSET', 'k', ...FIELDS.flatMap((field) => [field.field, field.value])],
      ['HPEXPIREAT', 'k', String(PAST), 'FIELDS', '1', 'stale'],
      ['HPEXPIREAT', 'k', String(SOON), 'FIELDS', '2', 'soon-a', 'soon-b'],
      ['HPEXPIREAT', 'k', String(LATER), 'FIELDS', '1', '12'],
      ['PEXPIREAT', 'k', String(KEY_EXPIRE)],
    ]);
    const many = CASES.find((item) => item.key === 'hfe:dict-many') as HfeCase;
    const fieldExpires = valueToCommands(key, decodeValue(many.type, many.value), -1)
      .filter((command) => command[0]?.toString() === 'HPEXPIREAT')
      .map((command) => [command[2]?.toString(), Number(command[4]?.toString()), command.length - 5]);
    expect(fieldExpires).toEqual([
      [String(SOON), 100, 100],
      [String(SOON), 75, 75],
      [String(LATER), 25, 25],
      [String(LATER + 1), 25, 25],
    ]);
    const persisted = CASES.find((item) => item.key === 'hfe:listpack-persisted') as HfeCase;
    expect(
      valueToCommands(key, decodeValue(persisted.type, persisted.value), -1).map((command) =>
        command[0]?.toString(),
      ),
    ).toEqual(['DEL', 'HSET']);
  });
});

describe('RDB 12 hashes with field expirations replayed into a real Redis 7.0', () => {
  let target: RedisProcess;

  beforeAll(async () => {
    target = await startRedis({ args: ['--sanitize-dump-payload', 'yes'] });
  }, 30_000);

  afterAll(async () => {
    await target?.stop();
  });

  it('answers "Bad data format" to RESTORE of every field-expiration type', async () => {
    const probe = target.client({ db: 15 });
    try {
      for (const item of CASES) {
        const payload = buildDumpPayload(item.type, item.value);
        await expect(
          probe.call('RESTORE', `probe:${item.key}`, '0', payload, 'REPLACE'),
          item.key,
        ).rejects.toThrow(/Bad data format/);
      }
    } finally {
      probe.disconnect();
    }
  });

  it('rebuilds the fields, values and key expiry with commands; each HPEXPIREAT fails on 7.0 and is counted', async () => {
    const warnings: { key?: string; error?: string }[] = [];
    const counters = new SyncCounters();
    const replayer = replayerInto(target, counters, warnings);
    await replayer.open();
    const parser = new RdbParser();
    let entries = 0;
    try {
      for (let at = 0; at < FILE.length; at += 7) {
        for (const event of parser.push(FILE.subarray(at, at + 7))) {
          if (event.kind !== 'entry') continue;
          entries++;
          await replayer.add(event);
        }
      }
      await replayer.drain();
    } finally {
      replayer.close();
    }
    expect(parser.done).toBe(true);
    const fieldExpireCommands = CASES.reduce(
      (sum, item) => sum + expectedFieldExpireCommands(item.fields),
      0,
    );
    expect(fieldExpireCommands).toBe(16); // 3 distinct expiries × 4 keys, none, 2 + 1 + 1 for 'hfe:dict-many'
    expect(counters.failedCommands).toBe(fieldExpireCommands);
    expect(counters.rdbKeysSent).toBe(entries);
    expect(warnings).toHaveLength(fieldExpireCommands);
    for (const warning of warnings) expect(warning.error).toMatch(/unknown command 'HPEXPIREAT'/i);
    expect(
      warnings.reduce<Record<string, number>>((perKey, warning) => {
        perKey[warning.key as string] = (perKey[warning.key as string] ?? 0) + 1;
        return perKey;
      }, {}),
    ).toEqual(
      Object.fromEntries(
        CASES.filter((item) => expectedFieldExpireCommands(item.fields) > 0).map((item) => [
          item.key,
          expectedFieldExpireCommands(item.fields),
        ]),
      ),
    );

    for (const db of [0, 1]) {
      const client = target.client({ db });
      try {
        for (const item of CASES.filter((candidate) => (candidate.db ?? 0) === db)) {
          const flat = ((await client.callBuffer('HGETALL', item.key)) as Buffer[]).map((part) =>
            part.toString('latin1'),
          );
          const pairs = Array.from(
            { length: flat.length / 2 },
            (_, i) => `${flat[2 * i]}\u0000${flat[2 * i + 1]}`,
          );
          expect(pairs.sort(), item.key).toEqual(
            item.fields.map((field) => `${field.field}\u0000${field.value}`).sort(),
          );
          expect(await client.call('PEXPIRETIME', item.key), item.key).toBe(item.expireMs ?? -1);
        }
        if (db === 0) {
          expect(await client.call('GET', 'plain:string:hfe:dict')).toBe('after a hfe hash');
          expect(await client.hgetall('plain:hash:hfe:dict-pre-ga')).toEqual({ f: 'v' });
        }
      } finally {
        client.disconnect();
      }
    }
  }, 30_000);
});
