import { ManualClock } from '@kvforge/runtime';
import { makeTempDirectory, removeDirectory } from '@kvforge/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { SpillingSpool } from './core/spilling-spool';
import { SPOOL_ITEM_CODEC, type SpoolItem, TICK } from './replay/spool-item';
import { SyncCounters } from './replay/sync-counters';
import { SessionInbox } from './session-inbox';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) removeDirectory(directory);
});

function inboxWith(options: { memoryBytes: number; maxDiskBytes: number }) {
  const directory = makeTempDirectory('gunyu-inbox-');
  directories.push(directory);
  const spool = new SpillingSpool(SPOOL_ITEM_CODEC, { directory, segmentBytes: 1024 * 1024, ...options });
  const reading = { paused: 0, resumed: 0 };
  const counters = new SyncCounters();
  const clock = new ManualClock();
  const inbox = new SessionInbox(
    spool,
    { pauseReading: () => reading.paused++, resumeReading: () => reading.resumed++ },
    counters,
    10,
    clock,
  );
  return { inbox, reading, counters, clock, spool };
}

const chunk = (bytes: number): SpoolItem => ({ kind: 'rdb', chunk: Buffer.alloc(bytes, 1) });

describe('SessionInbox', () => {
  it('answers a TICK after the batch ticker on its clock, and an item pushed meanwhile at once', async () => {
    const { inbox, clock } = inboxWith({ memoryBytes: 1024 * 1024, maxDiskBytes: -1 });
    const waiting = inbox.next();
    expect(clock.pendingTimers).toBe(1);
    clock.advance(10);
    expect(await waiting).toBe(TICK);
    const second = inbox.next();
    const item = chunk(3);
    inbox.push(item);
    expect(await second).toBe(item);
    expect(clock.pendingTimers).toBe(0);
  });

  it('after abort() a waiting and every later next() answers CLOSED, even once the spool was dropped', async () => {
    const { inbox, spool } = inboxWith({ memoryBytes: 1024 * 1024, maxDiskBytes: -1 });
    const waiting = inbox.next();
    const reason = new Error('fencing: another process took the lease');
    inbox.abort(reason);
    inbox.push({ kind: 'closed', error: undefined }); // the source's own close item, then dropped
    spool.close();
    expect(await waiting).toEqual({ kind: 'closed', error: reason });
    expect(await inbox.next()).toEqual({ kind: 'closed', error: reason });
  });

  it('holds items once the spool is full, pauses the source once, resumes it when they are taken', async () => {
    const { inbox, reading, counters } = inboxWith({ memoryBytes: 1000, maxDiskBytes: 0 });
    const items = [chunk(600), chunk(600), chunk(600)];
    for (const item of items) inbox.push(item);
    expect(reading.paused).toBe(1);
    expect(counters.spoolFullPauses).toBe(1);
    const taken = [await inbox.next(), await inbox.next(), await inbox.next()];
    expect(taken).toEqual(items);
    expect(reading.resumed).toBe(1);
  });

  it('hands an item larger than the whole budget over directly', async () => {
    const { inbox, reading } = inboxWith({ memoryBytes: 100, maxDiskBytes: 0 });
    const huge = chunk(5000);
    inbox.push(huge);
    expect(reading.paused).toBe(1);
    expect(await inbox.next()).toBe(huge);
    expect(reading.resumed).toBe(1);
  });

  it('after finish() hands out what was received, then undefined without waiting', async () => {
    const { inbox, clock } = inboxWith({ memoryBytes: 1024 * 1024, maxDiskBytes: -1 });
    const item = chunk(1);
    inbox.push(item);
    const waiting = inbox.next();
    inbox.finish();
    expect(await waiting).toBe(item);
    expect(await inbox.next()).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
  });

  it('read-ahead: pauses the source once replay is a read-ahead behind, resumes at half of it', async () => {
    const { inbox, reading, counters, spool } = inboxWith({ memoryBytes: 1024 * 1024, maxDiskBytes: -1 });
    const items = Array.from({ length: 6 }, () => chunk(300));
    inbox.push(items[0] as SpoolItem);
    const itemBytes = spool.memoryBytes; // the item and its bookkeeping
    inbox.readAheadBytes = 4 * itemBytes;
    for (const item of items.slice(1)) inbox.push(item);
    // 4 items queued reach the read-ahead: the 5th and 6th are held, reading paused once.
    expect(inbox.length).toBe(4);
    expect(reading.paused).toBe(1);
    expect(counters.readAheadPauses).toBe(1);
    expect(counters.spoolFullPauses).toBe(0);
    expect(await inbox.next()).toBe(items[0]); // 3 queued: above half, still paused
    expect(reading.resumed).toBe(0);
    expect(await inbox.next()).toBe(items[1]); // 2 queued: half, the held ones move in, reading resumes
    expect(reading.resumed).toBe(1);
    const rest = [];
    for (let i = 0; i < 4; i++) rest.push(await inbox.next());
    expect(rest).toEqual(items.slice(2));
  });

  it('read-ahead with a disk: a pause that replay does not end within the stall limit resumes reading and spills', async () => {
    const { inbox, reading, counters, spool, clock } = inboxWith({
      memoryBytes: 1024 * 1024,
      maxDiskBytes: -1,
    });
    const items = Array.from({ length: 8 }, () => chunk(300));
    inbox.push(items[0] as SpoolItem);
    const itemBytes = spool.memoryBytes;
    inbox.readAheadBytes = 4 * itemBytes;
    inbox.readAheadStallMs = 100;
    for (const item of items.slice(1, 6)) inbox.push(item);
    expect(reading.paused).toBe(1);
    clock.advance(99);
    expect(reading.resumed).toBe(0);
    // Replay took nothing for the stall limit (a frozen target): reading goes on, nothing is held.
    clock.advance(1);
    expect(reading.resumed).toBe(1);
    expect(counters.readAheadSpills).toBe(1);
    expect(inbox.length).toBe(6);
    inbox.push(items[6] as SpoolItem); // no new pause while spilling
    expect(reading.paused).toBe(1);
    const taken = [];
    for (let i = 0; i < 6; i++) taken.push(await inbox.next());
    // Replay caught up to half the read-ahead: the next time it falls behind, reading pauses again.
    inbox.push(items[7] as SpoolItem);
    inbox.push(chunk(300));
    inbox.push(chunk(300)); // 4 queued: the read-ahead
    expect(reading.paused).toBe(1);
    inbox.push(chunk(300));
    expect(reading.paused).toBe(2);
    expect(taken).toEqual(items.slice(0, 6));
    inbox.abort(undefined);
    expect(clock.pendingTimers).toBe(0);
  });
});
