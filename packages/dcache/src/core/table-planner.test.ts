import { describe, expect, it } from 'vitest';
import { assignTable, type Member } from './partition-table';
import { planTable } from './table-planner';

const member = (index: number): Member => ({ nodeId: `node${index}`, address: `127.0.0.1:${7000 + index}` });
const options = { replicas: 2, partitionCount: 271, coordinator: 'node1' };

describe('planTable', () => {
  const three = [member(1), member(2), member(3)];
  const current = assignTable(undefined, three, { ...options, version: 4 });

  it('numbers the next table above the current one and names its coordinator', () => {
    const next = planTable(current, [...three, member(4)], { ...options, coordinator: 'node2' });
    expect(next.version).toBe(5);
    expect(next.coordinator).toBe('node2');
    expect(planTable(current, three, options, current, 3).version).toBe(7);
  });

  it('records where the data is now (previous = current holders), so a joiner knows its pull sources', () => {
    const next = planTable(current, [...three, member(4)], options);
    expect(next.previous?.owners).toEqual(current.owners);
    expect(next.previous?.members.map((known) => known.nodeId)).toEqual(['node1', 'node2', 'node3']);
    // The joiner takes partitions only from old holders, and only ~1/4 of them.
    const moved = next.owners.filter((holders) => holders.includes('node4')).length;
    expect(moved / 271).toBeGreaterThan(0.35);
    expect(moved / 271).toBeLessThan(0.65);
  });

  it('unions the holders of an interim base (a rejoin): both layouts stay pull sources', () => {
    const without = planTable(current, [member(1), member(2)], options);
    const back = planTable(without, three, options, without);
    for (const [partition, holders] of back.previous!.owners.entries()) {
      for (const nodeId of without.owners[partition]!) expect(holders).toContain(nodeId);
    }
    const interim = planTable(current, three, options, without, 2);
    for (const [partition, holders] of interim.previous!.owners.entries()) {
      for (const nodeId of current.owners[partition]!) expect(holders).toContain(nodeId);
      for (const nodeId of without.owners[partition]!) expect(holders).toContain(nodeId);
    }
  });

  it('a fresh plan ignores the old layout; a sticky one keeps every surviving holder', () => {
    const survivors = [member(1), member(3)];
    const sticky = planTable(current, survivors, options);
    for (const [partition, holders] of sticky.owners.entries()) {
      const kept = current.owners[partition]!.filter((nodeId) => nodeId !== 'node2');
      for (const nodeId of kept) expect(holders).toContain(nodeId);
    }
    const fresh = planTable(current, survivors, options, current, 1, true);
    expect(fresh.owners).toEqual(assignTable(undefined, survivors, { ...options, version: 5 }).owners);
  });
});
