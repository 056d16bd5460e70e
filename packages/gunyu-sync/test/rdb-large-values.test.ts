import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareRedisDatasets, type RedisProcess, startRedis } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_CHUNK, parseRdb, RdbParser } from '../src/core/rdb/rdb-parser';
import { SyncCounters } from '../src/replay/sync-counters';
import { fillEveryType } from './fill-dataset';
import { blobValue, listpack, RdbFileBuilder, TYPE } from './rdb-builder';
import { describeRdbEvent, replayerInto } from './rdb-test-support';

const HUGE_KEYS = ['huge:zset', 'huge:hash', 'huge:list', 'huge:set', 'huge:string'];

let source: RedisProcess;
let rdb: Buffer;

/** Every 7.0 encoding plus five values of about 0.3-1.5 MB each (one with a TTL). */
async function fillHugeValues(): Promise<void> {
  const client = source.client();
  await fillEveryType(client);
  for (let i = 0; i < 100_000; i += 1000) {
    const pipeline = client.pipeline();
    const ids = Array.from({ length: 1000 }, (_, j) => i + j);
    pipeline.rpush('huge:list', ...ids.map((id) => `element-${id}`));
    if (i < 60_000) pipeline.zadd('huge:zset', ...ids.flatMap((id) => [id / 3, `member-${id}`]));
    if (i < 30_000) pipeline.hset('huge:hash', ...ids.flatMap((id) => [`field-${id}`, `value-${id}`]));
    if (i < 50_000) pipeline.sadd('huge:set', ...ids.map((id) => `member-${id}`));
    await pipeline.exec();
  }
  await client.pexpire('huge:zset', 3_600_000);
  await client.set('huge:string', randomBytes(300_000)); // incompressible: stored raw, not LZF
  await client.save();
}

beforeAll(async () => {
  source = await startRedis();
  await fillHugeValues();
  rdb = await readFile(join(source.directory, 'dump.rdb'));
}, 60_000);

afterAll(async () => {
  await source?.stop();
});

describe('RDB values larger than the parser buffer bound', () => {
  it('walks entries spread over many pushes item by item and emits them whole below the bound', () => {
    const expected = parseRdb(rdb).map(describeRdbEvent);
    const parser = new RdbParser();
    const seen: string[] = [];
    for (let at = 0; at < rdb.length; at += 64 * 1024) {
      for (const event of parser.push(rdb.subarray(at, at + 64 * 1024))) {
        expect(event.kind).not.toBe('value-part');
        seen.push(describeRdbEvent(event)); // views: read before the next push
      }
    }
    expect(parser.done).toBe(true);
    expect(seen).toEqual(expected);
  });

  it('streams values above the bound as parts in bounded memory; the replayer rebuilds the dataset exactly', async () => {
    const target = await startRedis();
    const counters = new SyncCounters();
    const warnings: object[] = [];
    const replayer = replayerInto(target, counters, warnings, 4);
    const limit = 128 * 1024;
    const parser = new RdbParser({ maxBufferedValueBytes: limit });
    const parts = new Map<string, { first: number; last: number; parts: number }>();
    let largestBuffer = 0;
    try {
      await replayer.open();
      const functions = target.client();
      for (let at = 0; at < rdb.length; at += 16 * 1024) {
        for (const event of parser.push(rdb.subarray(at, at + 16 * 1024))) {
          if (event.kind === 'entry') await replayer.add(event);
          else if (event.kind === 'value-part') {
            const seen = parts.get(event.key.toString()) ?? { first: 0, last: 0, parts: 0 };
            seen.parts++;
            if (event.first) seen.first++;
            if (event.last) seen.last++;
            parts.set(event.key.toString(), seen);
            await replayer.addPart(event);
          } else if (event.kind === 'function') {
            await functions.call('FUNCTION', 'LOAD', 'REPLACE', event.code);
          }
        }
        largestBuffer = Math.max(largestBuffer, parser.bufferCapacity);
      }
      await replayer.drain();
      expect(parser.done).toBe(true);
      expect([...parts.keys()].sort()).toEqual([...HUGE_KEYS].sort());
      for (const seen of parts.values()) {
        expect(seen).toMatchObject({ first: 1, last: 1 });
        expect(seen.parts).toBeGreaterThan(1);
      }
      // Values of up to 1.5 MB went through a buffer that never outgrew a few times the bound.
      expect(largestBuffer).toBeLessThanOrEqual(4 * limit);
      expect(warnings).toEqual([]);
      expect(counters.rdbKeysSent).toBe(22 + HUGE_KEYS.length);
      const comparison = await compareRedisDatasets(source.client(), target.client());
      expect(comparison.differences).toEqual([]);
      expect(await target.client().ttl('huge:zset')).toBeGreaterThan(3000);
    } finally {
      replayer.close();
      await target.stop();
    }
  }, 60_000);

  it('bounds the parts one push returns (maxPartBytesPerPush) without losing or reordering any', () => {
    const run = (maxPartBytesPerPush: number): { seen: string[]; stops: number } => {
      const parser = new RdbParser({ maxBufferedValueBytes: 128 * 1024, maxPartBytesPerPush });
      const seen: string[] = [];
      let stops = 0;
      // 64 KiB pushes: every huge value spans many pushes wherever the server put it in the file.
      for (let at = 0; at < rdb.length; at += 64 * 1024) {
        let events = parser.push(rdb.subarray(at, at + 64 * 1024));
        for (;;) {
          seen.push(...events.map(describeRdbEvent));
          if (!parser.hasMore) break;
          stops++;
          events = parser.push(EMPTY_CHUNK);
        }
      }
      expect(parser.done).toBe(true);
      return { seen, stops };
    };
    const unbounded = run(Number.POSITIVE_INFINITY);
    const bounded = run(16 * 1024);
    expect(unbounded.stops).toBe(0);
    expect(bounded.stops).toBeGreaterThan(10);
    expect(bounded.seen.join('\n')).toBe(unbounded.seen.join('\n'));
    expect(
      bounded.seen.some((line) => line.startsWith(`part ${Buffer.from('huge:list').toString('hex')} `)),
    ).toBe(true);
  });

  it('sends values between 1 MiB and the bound as one RESTORE straight from the parser buffer', async () => {
    const target = await startRedis();
    const counters = new SyncCounters();
    const warnings: object[] = [];
    const replayer = replayerInto(target, counters, warnings, 4);
    const parser = new RdbParser();
    let largestEntry = 0;
    try {
      await replayer.open();
      const functions = target.client();
      for (let at = 0; at < rdb.length; at += 64 * 1024) {
        for (const event of parser.push(rdb.subarray(at, at + 64 * 1024))) {
          if (event.kind === 'entry') {
            largestEntry = Math.max(largestEntry, event.value.length);
            await replayer.add(event);
          } else if (event.kind === 'function') {
            await functions.call('FUNCTION', 'LOAD', 'REPLACE', event.code);
          }
        }
      }
      await replayer.drain();
      expect(largestEntry).toBeGreaterThan(1024 * 1024); // the direct path was taken at least once
      expect(warnings).toEqual([]);
      const comparison = await compareRedisDatasets(source.client(), target.client());
      expect(comparison.differences).toEqual([]);
    } finally {
      replayer.close();
      await target.stop();
    }
  }, 60_000);

  it('a direct RESTORE the target cannot read (Bad data format) is rebuilt from the parser buffer', async () => {
    // A 7.2 set listpack (type 20) of ~1.5 MB: above the direct-RESTORE size, unknown to a 7.0 target.
    const members = Array.from({ length: 60_000 }, (_, index) => `member-${index}-${'x'.repeat(10)}`);
    const file = new RdbFileBuilder(11)
      .selectDb(0)
      .entry(TYPE.setListpack, 'big:set-listpack', blobValue(listpack(members)), {
        expireMs: Date.now() + 3_600_000,
      })
      .finish();
    const target = await startRedis();
    const counters = new SyncCounters();
    const warnings: object[] = [];
    const replayer = replayerInto(target, counters, warnings);
    const parser = new RdbParser();
    try {
      await replayer.open();
      for (let at = 0; at < file.length; at += 64 * 1024) {
        for (const event of parser.push(file.subarray(at, at + 64 * 1024))) {
          if (event.kind !== 'entry') continue;
          expect(event.value.length).toBeGreaterThan(1024 * 1024);
          await replayer.add(event);
        }
      }
      await replayer.drain();
      expect(parser.done).toBe(true);
      expect(warnings).toEqual([]);
      expect(counters.failedCommands).toBe(0);
      const client = target.client();
      expect(await client.scard('big:set-listpack')).toBe(members.length);
      expect(await client.sismember('big:set-listpack', members[12_345] as string)).toBe(1);
      expect(await client.ttl('big:set-listpack')).toBeGreaterThan(3000);
      // The one RESTORE was refused and the set rebuilt with SADDs of 100 members.
      const stats = await client.info('commandstats');
      expect(/cmdstat_restore:calls=1,.*failed_calls=1/.test(stats)).toBe(true);
      expect(Number(/cmdstat_sadd:calls=(\d+)/.exec(stats)?.[1])).toBe(members.length / 100);
    } finally {
      replayer.close();
      await target.stop();
    }
  }, 60_000);
});
