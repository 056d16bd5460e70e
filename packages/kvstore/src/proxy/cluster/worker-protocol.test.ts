import { describe, expect, it } from 'vitest';
import { CommandTable } from '../../core/command-table';
import { ProxyStats } from '../proxy-stats';
import { mergeStats, snapshotStats, workerMaxQps } from './worker-protocol';

describe('worker stats merge and limits', () => {
  const table = new CommandTable();
  const get = table.commands.find((spec) => spec.name === 'GET')!;
  const set = table.commands.find((spec) => spec.name === 'SET')!;

  it('sums every counter of the workers, adds the primary refusals, weights average_rt by qps', () => {
    const [one, two] = [new ProxyStats(table), new ProxyStats(table)];
    one.record(get.id, 100, 10_000, false);
    one.record(get.id, 300, 10_000, true);
    two.record(set.id, 20_000, 10_000, false);
    one.backendErrors = 2;
    two.rejectedQps = 3;
    one.qps = 300;
    one.averageRtMs = 1;
    two.qps = 100;
    two.averageRtMs = 5;
    const merged = new ProxyStats(table);
    merged.backendErrors = 99; // stale values from the previous read are overwritten
    mergeStats(merged, [snapshotStats(one, 4, 7, 10), snapshotStats(two, 1, 7, 10)], 5);
    expect(merged.commandCounts()).toEqual({ get: 2, set: 1 });
    expect(merged.errors[get.id]).toBe(1);
    expect(merged.totalCommands).toBe(3);
    expect(merged.slowCommands).toBe(1);
    expect(merged.backendErrors).toBe(2);
    expect(merged.rejectedQps).toBe(3);
    expect(merged.rejectedClients).toBe(5);
    expect(merged.qps).toBe(400);
    expect(merged.averageRtMs).toBe(2);
    expect(merged.renderPrometheus()).toContain(
      'kvstore_proxy_command_duration_seconds_count{command="GET"} 2',
    );
  });

  it('splits max_qps between the workers, never below 1', () => {
    expect(workerMaxQps(200_000, 2)).toBe(100_000);
    expect(workerMaxQps(5, 2)).toBe(2);
    expect(workerMaxQps(1, 4)).toBe(1);
  });
});
