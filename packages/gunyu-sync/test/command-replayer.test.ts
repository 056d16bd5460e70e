import { encodeCommand, RequestScanner } from '@kvforge/resp';
import { type RedisProcess, startRedis } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandFilter, DEFAULT_FILTER_OPTIONS } from '../src/core/command-filter';
import { commandName } from '../src/core/command-name';
import { DEFAULT_REPLAY_OPTIONS } from '../src/core/replay-options';
import { CommandReplayer, type StreamCommand } from '../src/replay/command-replayer';
import { SyncCounters } from '../src/replay/sync-counters';
import { TargetConnection } from '../src/replay/target-connection';

let target: RedisProcess;

beforeAll(async () => {
  target = await startRedis();
}, 30_000);

afterAll(async () => {
  await target?.stop();
});

/** A stream command as the replica client hands it over (argument positions from the scanner). */
function streamCommand(args: string[], offset: number): StreamCommand {
  const data = encodeCommand(args);
  const scanner = new RequestScanner();
  scanner.scan(data, 0, data.length);
  const at = (index: number, ends: Int32Array): number =>
    index < scanner.argumentCount ? (ends[index] as number) : -1;
  return {
    kind: 'command',
    data: Buffer.from(data),
    name: commandName(data, scanner.argumentStarts[0] as number, scanner.argumentEnds[0] as number),
    arg1Start: at(1, scanner.argumentStarts),
    arg1End: at(1, scanner.argumentEnds),
    arg2Start: at(2, scanner.argumentStarts),
    arg2End: at(2, scanner.argumentEnds),
    offset,
  };
}

describe('CommandReplayer', () => {
  it('lets batches grow while one is in flight (flushSoon) and applies every command once, in transaction mode', async () => {
    const connection = new TargetConnection({ host: target.host, port: target.port });
    await connection.connect();
    const counters = new SyncCounters();
    const replayer = new CommandReplayer(
      connection,
      DEFAULT_REPLAY_OPTIONS,
      new CommandFilter(DEFAULT_FILTER_OPTIONS),
      counters,
      true,
      () => 'a'.repeat(40),
      { sourceDb: 0, targetDb: 0, offset: 0 },
      '',
    );
    try {
      for (let i = 1; i <= 1000; i++) {
        const command = streamCommand(['INCR', 'counter'], i * 10);
        const pending = replayer.handle(command);
        if (pending) await pending;
        await replayer.flushSoon(); // the spool is empty after every command here
      }
      await replayer.drain();
      expect(await target.client().get('counter')).toBe('1000');
      expect(counters.successCommands).toBe(1000);
      expect(counters.ackOffset).toBe(10_000);
      // Sent one by one that would be 1000 MULTI/EXEC batches; growing while in flight gives ~batchCmdCount each.
      expect(counters.transactionBatches).toBeLessThanOrEqual(
        1000 / DEFAULT_REPLAY_OPTIONS.batchCmdCount + 5,
      );
      expect(await target.client().hget('redis-gunyu-checkpoint', `${'a'.repeat(40)}_offset`)).toBe('10000');
    } finally {
      connection.close();
    }
  });
});
