import { describe, expect, it } from 'vitest';
import { assignTable } from './partition-table';
import { checkedTable, tableProblem } from './table-validation';

const members = [
  { nodeId: 'node1', address: '127.0.0.1:8001' },
  { nodeId: 'node2', address: '[::1]:8002' },
];
const good = () =>
  assignTable(undefined, members, { replicas: 2, partitionCount: 8, version: 3, coordinator: 'node1' });

describe('partition table validation', () => {
  it('accepts a table assignTable computed', () => {
    expect(tableProblem(good(), 8)).toBeUndefined();
    expect(checkedTable(JSON.parse(JSON.stringify(good())), 8).version).toBe(3);
  });

  it('rejects the bricking table of issue 10 and every kind of unroutable table', () => {
    const bricking = { version: 999, partitionCount: 271, owners: [], members: [] };
    expect(() => checkedTable(bricking, 271)).toThrow(/malformed partition table/);
    expect(() => checkedTable({ ...bricking, coordinator: 'x' }, 271)).toThrow(/members/);
    const cases: Array<[string, (table: ReturnType<typeof good>) => void, RegExp]> = [
      ['other partition count', (table) => (table.partitionCount = 16), /partitionCount 16/],
      ['owners too short', (table) => table.owners.pop(), /owners lists 7/],
      ['no holder', (table) => (table.owners[2] = []), /owners\.2/],
      ['stranger holder', (table) => (table.owners[1] = ['node9']), /node9, not a member/],
      ['holder twice', (table) => (table.owners[1] = ['node1', 'node1']), /twice/],
      ['member twice', (table) => table.members.push({ ...members[0]! }), /node1 is listed twice/],
      ['bad address', (table) => (table.members[0]!.address = 'nowhere'), /address/],
      ['negative version', (table) => (table.version = -1), /version/],
    ];
    for (const [name, spoil, message] of cases) {
      const table = good();
      spoil(table);
      expect(() => checkedTable(table, 8), name).toThrow(message);
    }
  });
});
