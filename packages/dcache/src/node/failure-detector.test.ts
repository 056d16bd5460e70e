import { ManualClock, SILENT_LOGGER } from '@kvforge/runtime';
import { describe, expect, it } from 'vitest';
import { FailureDetector } from './failure-detector';

const members = (...ids: string[]) =>
  ids.map((nodeId) => ({ nodeId, address: `127.0.0.1:${1000 + ids.indexOf(nodeId)}` }));

describe('FailureDetector (ManualClock)', () => {
  it('healthy → suspect on the first failed round → unhealthy only after deadAfterMs', () => {
    const clock = new ManualClock(1_000);
    const detector = new FailureDetector(clock, 5_000, SILENT_LOGGER);
    detector.track(members('a', 'b', 'c'), 'a');
    detector.unreachable('b');
    expect(detector.health.get('b')?.status).toBe('suspect');
    clock.advance(4_999);
    detector.unreachable('b');
    expect(detector.isDead('b')).toBe(false);
    clock.advance(1);
    detector.unreachable('b');
    expect(detector.isDead('b')).toBe(true);
    expect(detector.deadMembers()).toEqual(['b']);
  });

  it('any answer heals a suspect and resets the timer', () => {
    const clock = new ManualClock(0);
    const detector = new FailureDetector(clock, 1_000, SILENT_LOGGER);
    detector.track(members('a', 'b'), 'a');
    detector.unreachable('b');
    clock.advance(900);
    detector.reachable('b', 3);
    expect(detector.health.get('b')).toMatchObject({ status: 'healthy', lastSeen: 900, responseTimeMs: 3 });
    detector.unreachable('b');
    clock.advance(999);
    detector.unreachable('b');
    expect(detector.isDead('b')).toBe(false);
  });

  it('a dead node removed from the table stays dead (migration skips it); a healthy leaver does not', () => {
    const clock = new ManualClock(0);
    const detector = new FailureDetector(clock, 100, SILENT_LOGGER);
    detector.track(members('a', 'b', 'c'), 'a');
    detector.unreachable('b');
    clock.advance(100);
    detector.unreachable('b');
    detector.track(members('a'), 'a');
    expect(detector.health.size).toBe(0);
    expect(detector.isDead('b')).toBe(true);
    expect(detector.isDead('c')).toBe(false);
    expect(detector.isHealthy('b')).toBe(false);
    detector.reachable('b');
    expect(detector.isDead('b')).toBe(false);
  });

  it('a node removed as dead and then back in a table (rejoin, merge) is a live source again at once', () => {
    const clock = new ManualClock(0);
    const detector = new FailureDetector(clock, 100, SILENT_LOGGER);
    detector.track(members('a', 'b'), 'a');
    detector.unreachable('b');
    clock.advance(100);
    detector.unreachable('b');
    detector.track(members('a'), 'a');
    expect(detector.isDead('b')).toBe(true);
    detector.track(members('a', 'b'), 'a');
    expect(detector.isDead('b')).toBe(false);
  });
});
