import { describe, expect, it } from 'vitest';
import { assignTable, isNewerTable, loadByNode, type Member, type PartitionTable } from './partition-table';

const members = (count: number): Member[] =>
  Array.from({ length: count }, (_, index) => ({
    nodeId: `node${index + 1}`,
    address: `127.0.0.1:${8001 + index}`,
  }));

function build(previous: PartitionTable | undefined, list: Member[], replicas = 2): PartitionTable {
  return assignTable(previous, list, {
    replicas,
    partitionCount: 271,
    version: (previous?.version ?? 0) + 1,
    coordinator: 'node1',
  });
}

function maxOverMean(table: PartitionTable, level: number): number {
  const counts = [...loadByNode(table, level).values()];
  const mean = counts.reduce((sum, count) => sum + count, 0) / counts.length;
  return Math.max(...counts) / mean;
}

describe('assignTable', () => {
  it('keeps max/mean ≤ 1.10 for primaries and replicas, 1 to 10 nodes, grown one by one', () => {
    let table: PartitionTable | undefined;
    for (let count = 1; count <= 10; count++) {
      table = build(table, members(count));
      expect(maxOverMean(table, 0)).toBeLessThanOrEqual(1.1);
      if (count >= 2) expect(maxOverMean(table, 1)).toBeLessThanOrEqual(1.1);
    }
  });

  it('puts the copies of one partition on distinct nodes', () => {
    const table = build(undefined, members(4), 3);
    for (const holders of table.owners) {
      expect(holders).toHaveLength(3);
      expect(new Set(holders).size).toBe(3);
    }
  });

  it('caps copies at the member count', () => {
    const table = build(undefined, members(1), 2);
    expect(table.owners.every((holders) => holders.length === 1)).toBe(true);
  });

  it('moves primaries only to the joining node, about 1/(N+1) of them', () => {
    const before = build(undefined, members(3));
    const after = build(before, members(4));
    let moved = 0;
    for (let partition = 0; partition < 271; partition++) {
      const from = before.owners[partition]![0];
      const to = after.owners[partition]![0];
      if (from !== to) {
        moved++;
        expect(to).toBe('node4');
      }
    }
    expect(moved / 271).toBeGreaterThan(0.22);
    expect(moved / 271).toBeLessThan(0.28);
  });

  it('on a leave only the leaver’s partitions move', () => {
    const before = build(undefined, members(4));
    const survivors = members(4).filter((member) => member.nodeId !== 'node2');
    const after = build(before, survivors);
    for (let partition = 0; partition < 271; partition++) {
      const oldHolders = before.owners[partition]!;
      const newHolders = after.owners[partition]!;
      expect(newHolders).not.toContain('node2');
      if (oldHolders[0] !== 'node2') expect(newHolders[0]).toBe(oldHolders[0]);
      else expect(newHolders[0]).not.toBe('node2');
    }
    expect(maxOverMean(after, 0)).toBeLessThanOrEqual(1.1);
  });

  it('is deterministic', () => {
    expect(build(undefined, members(5))).toEqual(build(undefined, [...members(5)].reverse()));
  });

  it('orders tables by version, then coordinator id', () => {
    const table = build(undefined, members(2));
    expect(isNewerTable({ ...table, version: table.version + 1 }, table)).toBe(true);
    expect(isNewerTable(table, { ...table, version: table.version + 1 })).toBe(false);
    expect(isNewerTable({ ...table, coordinator: 'a' }, { ...table, coordinator: 'b' })).toBe(true);
  });
});
