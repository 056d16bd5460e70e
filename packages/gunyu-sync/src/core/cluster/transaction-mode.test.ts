import { describe, expect, it } from 'vitest';
import { parseClusterNodes } from './cluster-topology';
import { CLUSTER_SLOTS, keySlot } from './key-slot';
import { slotProbeKey } from './slot-probe-keys';
import { clusterTransactionAllowed } from './transaction-mode';

const node = (id: string, port: number, slots: string): string =>
  `${id} 127.0.0.1:${port}@${port + 10000} master - 0 0 1 connected ${slots}`;
const three = (third = '10923-16383', extra = ''): string =>
  [node('a', 7001, '0-5460'), node('b', 7002, '5461-10922'), node('c', 7003, `${third}${extra}`)].join('\n');

describe('clusterTransactionAllowed', () => {
  it('holds for the same ranges in any node order', () => {
    const target = [node('x', 8003, '10923-16383'), node('y', 8001, '0-5460'), node('z', 8002, '5461-10922')];
    expect(clusterTransactionAllowed(parseClusterNodes(three()), parseClusterNodes(target.join('\n')))).toBe(
      true,
    );
  });

  it('fails for another shard count, a moved slot, or a migrating slot on either side', () => {
    const two = [node('a', 7001, '0-8191'), node('b', 7002, '8192-16383')].join('\n');
    expect(clusterTransactionAllowed(parseClusterNodes(three()), parseClusterNodes(two))).toBe(false);
    const moved = [node('a', 7001, '0-5459'), node('b', 7002, '5460-10922'), node('c', 7003, '10923-16383')];
    expect(clusterTransactionAllowed(parseClusterNodes(three()), parseClusterNodes(moved.join('\n')))).toBe(
      false,
    );
    const migrating = parseClusterNodes(three('10923-16383', ' [10923->-a]'));
    expect(clusterTransactionAllowed(migrating, parseClusterNodes(three()))).toBe(false);
    expect(clusterTransactionAllowed(parseClusterNodes(three()), migrating)).toBe(false);
  });
});

describe('slotProbeKey', () => {
  it('names a reserved key of every slot', () => {
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      const key = slotProbeKey(slot);
      expect(keySlot(key)).toBe(slot);
      expect(key.toString('latin1').startsWith('redis-gunyu-checkpoint-slot:')).toBe(true);
    }
  });
});
