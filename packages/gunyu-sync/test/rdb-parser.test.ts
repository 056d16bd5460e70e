import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareRedisDatasets, type RedisProcess, seededRandom, startRedis } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDumpPayload } from '../src/core/rdb/dump-payload';
import { RDB_TYPE } from '../src/core/rdb/rdb-constants';
import { parseRdb, type RdbEntry, type RdbEvent, RdbParser } from '../src/core/rdb/rdb-parser';
import { decodeValue, valueToCommands } from '../src/core/rdb/value-decoder';
import { fillEveryType } from './fill-dataset';

let source: RedisProcess;
let rdb: Buffer;

beforeAll(async () => {
  source = await startRedis();
  const client = source.client();
  await fillEveryType(client);
  await client.save();
  rdb = await readFile(join(source.directory, 'dump.rdb'));
}, 60_000);

afterAll(async () => {
  await source?.stop();
});

const entriesOf = (events: RdbEvent[]): RdbEntry[] =>
  events.filter((event): event is RdbEntry => event.kind === 'entry');

function summary(events: RdbEvent[]): string[] {
  return events.map((event) =>
    event.kind === 'entry'
      ? `${event.db}/${event.key.toString('hex')}/${event.type}/${event.expireAtMs}/${event.value.toString('hex')}`
      : event.kind === 'end'
        ? `end/${event.computed}`
        : JSON.stringify(event),
  );
}

describe('RdbParser on a dump written by redis-server 7.0', () => {
  it('reads every key with its db, type and expiry and verifies the CRC64 footer', () => {
    const events = parseRdb(rdb);
    expect(events[0]).toEqual({ kind: 'header', version: 10 });
    const entries = entriesOf(events);
    const names = entries.map((entry) => `${entry.db}:${entry.key.toString()}`).sort();
    expect(names).toContain('0:list:big');
    expect(names).toContain('3:db3:key');
    expect(entries.length).toBe(22);
    const types = new Set(entries.map((entry) => entry.type));
    for (const type of [
      RDB_TYPE.string,
      RDB_TYPE.set,
      RDB_TYPE.setIntset,
      RDB_TYPE.hashListpack,
      RDB_TYPE.zsetListpack,
      RDB_TYPE.listQuicklist2,
      RDB_TYPE.streamListpacks2,
      RDB_TYPE.hash,
      RDB_TYPE.zset2,
    ]) {
      expect(types.has(type)).toBe(true);
    }
    const ttl = entries.find((entry) => entry.key.toString() === 'string:ttl');
    expect(ttl?.expireAtMs).toBeGreaterThan(Date.now());
    expect(
      events.some((event) => event.kind === 'function' && event.code.toString().includes('gunyulib')),
    ).toBe(true);
    const end = events.at(-1);
    expect(end?.kind).toBe('end');
    if (end?.kind === 'end') expect(end.checksum).toBe(end.computed);
  });

  it('emits the same events fed byte by byte and at seeded random splits', () => {
    const expected = summary(parseRdb(rdb));
    // Keys and values are views valid until the next push: summarise each push's events at once.
    const byteParser = new RdbParser();
    const byteEvents: string[] = [];
    for (let i = 0; i < rdb.length; i++) byteEvents.push(...summary(byteParser.push(rdb.subarray(i, i + 1))));
    expect(byteEvents).toEqual(expected);
    const random = seededRandom(12345);
    for (let round = 0; round < 5; round++) {
      const parser = new RdbParser();
      const events: string[] = [];
      let at = 0;
      while (at < rdb.length) {
        const size = 1 + Math.floor(random() * 4096);
        events.push(...summary(parser.push(rdb.subarray(at, at + size))));
        at += size;
      }
      expect(parser.done).toBe(true);
      expect(events).toEqual(expected);
    }
  });

  it('keeps the bytes after the RDB end as trailing data', () => {
    const parser = new RdbParser();
    parser.push(Buffer.concat([rdb, Buffer.from('*1\r\n$4\r\nPING\r\n')]));
    expect(parser.done).toBe(true);
    expect(parser.trailing().toString()).toBe('*1\r\n$4\r\nPING\r\n');
  });

  it('detects a flipped byte through the checksum', () => {
    const corrupted = Buffer.from(rdb);
    const index = corrupted.indexOf('hello');
    expect(index).toBeGreaterThan(0);
    corrupted[index + 1] = 0x45;
    expect(() => parseRdb(corrupted)).toThrow(/checksum mismatch/);
  });

  it('names the type and offset of an unknown value type', () => {
    const bad = Buffer.concat([Buffer.from('REDIS0010'), Buffer.from([0xfe, 0x00, 99, 0x01, 0x6b])]);
    expect(() => parseRdb(bad)).toThrow(/unsupported RDB value type 99 \(offset \d+\)/);
  });

  it('rebuilds the dataset through RESTORE payloads and through the command fallback', async () => {
    const events = parseRdb(rdb);
    const viaRestore = await startRedis();
    const viaCommands = await startRedis();
    try {
      const restoreClient = viaRestore.client();
      const commandClient = viaCommands.client();
      for (const event of events) {
        if (event.kind === 'function') {
          await restoreClient.call('FUNCTION', 'LOAD', 'REPLACE', event.code);
          await commandClient.call('FUNCTION', 'LOAD', 'REPLACE', event.code);
          continue;
        }
        if (event.kind !== 'entry') continue;
        await restoreClient.select(event.db);
        await commandClient.select(event.db);
        const ttl = event.expireAtMs >= 0 ? String(event.expireAtMs) : '0';
        const payload = buildDumpPayload(event.type, event.value);
        await restoreClient.call('RESTORE', event.key, ttl, payload, 'REPLACE', 'ABSTTL');
        const decoded = decodeValue(event.type, event.value);
        for (const command of valueToCommands(event.key, decoded, event.expireAtMs)) {
          await commandClient.callBuffer((command[0] as Buffer).toString(), ...command.slice(1));
        }
      }
      const restored = await compareRedisDatasets(source.client(), restoreClient);
      expect(restored.differences).toEqual([]);
      expect(restored.keyCount).toBe(22);
      // Consumer groups only travel through RESTORE; everything else must match exactly.
      const rewritten = await compareRedisDatasets(source.client(), commandClient, {
        ignoreKey: (key) => key === 'stream:groups',
      });
      expect(rewritten.differences).toEqual([]);
      await commandClient.select(0);
      const entries = await commandClient.xrange('stream:groups', '-', '+');
      expect(entries.length).toBe(2);
    } finally {
      await viaRestore.stop();
      await viaCommands.stop();
    }
  }, 60_000);
});
