import { describe, expect, it } from 'vitest';
import { SyncCounters } from './sync-counters';

describe('SyncCounters.fullSyncPercent', () => {
  it('follows the keys of the current full sync, stays below 100 until streaming, and is 0 when aborted', () => {
    const counters = new SyncCounters();
    expect(counters.fullSyncPercent()).toBe(0);
    counters.rdbKeysSent = 500; // an earlier full sync: the counters are running totals
    counters.rdbKeysBefore = 500;
    counters.rdbKeysExpected = 200;
    counters.syncPhase = 1;
    expect(counters.fullSyncPercent()).toBe(0);
    counters.rdbKeysSent += 90;
    counters.rdbKeysFiltered += 10;
    expect(counters.fullSyncPercent()).toBe(50);
    counters.rdbKeysSent += 150; // keys written after INFO keyspace was read
    expect(counters.fullSyncPercent()).toBe(99);
    counters.syncPhase = 2;
    expect(counters.fullSyncPercent()).toBe(100);
    counters.syncPhase = 0;
    expect(counters.fullSyncPercent()).toBe(0);
  });
});
