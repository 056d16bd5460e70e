import { describe, expect, it } from 'vitest';
import { ANY_NODE, parseRedirect, routingKeyIndex } from './command-routing';

describe('command routing', () => {
  it('finds the routing key argument', () => {
    expect(routingKeyIndex('SET', 3, () => 0)).toBe(1);
    expect(routingKeyIndex('XGROUP', 5, () => 0)).toBe(2);
    expect(routingKeyIndex('EVAL', 5, () => 1)).toBe(3);
    expect(routingKeyIndex('EVAL', 3, () => 0)).toBe(ANY_NODE);
    expect(routingKeyIndex('PUBLISH', 3, () => 0)).toBe(ANY_NODE);
  });

  it('parses redirections', () => {
    expect(parseRedirect('MOVED 3999 127.0.0.1:6381')).toEqual({
      kind: 'moved',
      slot: 3999,
      address: '127.0.0.1:6381',
    });
    expect(parseRedirect('ASK 1 [::1]:7000')).toEqual({ kind: 'ask', slot: 1, address: '[::1]:7000' });
    expect(parseRedirect('TRYAGAIN Multiple keys request during rehashing of slot')?.kind).toBe('tryagain');
    expect(parseRedirect('CLUSTERDOWN The cluster is down')?.kind).toBe('clusterdown');
    expect(parseRedirect('ERR wrong number of arguments')).toBeUndefined();
  });
});
