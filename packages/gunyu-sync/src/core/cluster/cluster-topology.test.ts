import { describe, expect, it } from 'vitest';
import { chooseSyncNode, parseClusterNodes, slotLayout, slotOwners } from './cluster-topology';

const NODES = `07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383 [10924->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 slave,fail 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 connected
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460
`;

describe('parseClusterNodes', () => {
  it('finds shards in slot order with their replicas, failures and migrations', () => {
    const topology = parseClusterNodes(NODES);
    expect(topology.shards.map((shard) => shard.master.address)).toEqual([
      '127.0.0.1:30001',
      '127.0.0.1:30002',
      '127.0.0.1:30003',
    ]);
    expect(topology.shards[0]?.replicas.map((node) => node.address)).toEqual(['127.0.0.1:30004']);
    expect(topology.shards[1]?.replicas[0]?.failing).toBe(true);
    expect(topology.migrating).toBe(true);
    expect(slotLayout(topology)).toBe('0-5460|5461-10922|10923-16383');
    const owners = slotOwners(topology);
    expect([owners[0], owners[5461], owners[16383]]).toEqual([0, 1, 2]);
  });

  it('chooses the node per syncFrom', () => {
    const [first, second] = parseClusterNodes(NODES).shards;
    expect(chooseSyncNode(first!, 'prefer_slave')?.address).toBe('127.0.0.1:30004');
    expect(chooseSyncNode(first!, 'master')?.address).toBe('127.0.0.1:30001');
    // the only replica of the second shard is failing
    expect(chooseSyncNode(second!, 'prefer_slave')?.address).toBe('127.0.0.1:30002');
    expect(chooseSyncNode(second!, 'slave')).toBeUndefined();
  });
});
