import { describe, expect, it } from 'vitest';
import { COMMAND_KINDS, CommandTable, MERGE_KINDS } from './command-table';

const table = new CommandTable();
const kind = (name: string) => table.lookup(name)?.kind;

describe('CommandTable', () => {
  it('routes single-key data commands from COMMAND output', () => {
    for (const name of [
      'GET',
      'SET',
      'INCR',
      'HSET',
      'LPUSH',
      'RPOP',
      'SADD',
      'ZADD',
      'PFADD',
      'SETBIT',
      'BITFIELD',
    ]) {
      expect(kind(name), name).toBe(COMMAND_KINDS.SINGLE_KEY);
    }
    for (const name of [
      'EXPIRE',
      'PEXPIRE',
      'TTL',
      'TYPE',
      'DUMP',
      'RESTORE',
      'ZPOPMIN',
      'SPOP',
      'LRANGE',
      'GETDEL',
    ]) {
      expect(kind(name), name).toBe(COMMAND_KINDS.SINGLE_KEY);
    }
  });

  it('splits the six multi-key commands with their merge rule', () => {
    expect(table.lookup('MGET')).toMatchObject({
      kind: COMMAND_KINDS.SPLIT,
      merge: MERGE_KINDS.ARRAY,
      step: 1,
    });
    expect(table.lookup('MSET')).toMatchObject({
      kind: COMMAND_KINDS.SPLIT,
      merge: MERGE_KINDS.ALL_OK,
      step: 2,
    });
    for (const name of ['DEL', 'UNLINK', 'EXISTS', 'TOUCH']) {
      expect(table.lookup(name)).toMatchObject({ kind: COMMAND_KINDS.SPLIT, merge: MERGE_KINDS.SUM });
    }
  });

  it('refuses cross-key, blocking, pub/sub, scripting and admin commands', () => {
    for (const name of [
      'KEYS',
      'SCAN',
      'MIGRATE',
      'MOVE',
      'OBJECT',
      'RENAME',
      'RENAMENX',
      'SORT',
      'WAIT',
      'BITOP',
      'MSETNX',
      'SMOVE',
      'ZUNIONSTORE',
      'BLPOP',
      'BRPOPLPUSH',
      'RPOPLPUSH',

      'MULTI',
      'EXEC',
      'WATCH',
      'EVAL',
      'SUBSCRIBE',
      'PUBLISH',
      'FLUSHALL',
      'SHUTDOWN',
      'DEBUG',
    ]) {
      expect(kind(name), name).toBe(COMMAND_KINDS.UNSUPPORTED);
    }
  });

  it('answers connection commands locally and sums DBSIZE', () => {
    for (const name of [
      'PING',
      'ECHO',
      'QUIT',
      'SELECT',
      'AUTH',
      'HELLO',
      'CLIENT',
      'COMMAND',
      'CONFIG',
      'INFO',
    ]) {
      expect(kind(name), name).toBe(COMMAND_KINDS.LOCAL);
    }
    expect(kind('DBSIZE')).toBe(COMMAND_KINDS.BROADCAST_SUM);
  });

  it('finds names in any case and keeps ids dense', () => {
    expect(table.lookup('get')).toBe(table.lookup('GET'));
    expect(table.lookup('gEt')).toBe(table.lookup('GET'));
    expect(table.lookup('nosuch')).toBeUndefined();
    expect(table.commands.map((spec) => spec.id)).toEqual(table.commands.map((_, index) => index));
    expect(table.lookup('PFCOUNT')!.oneKeyOnly).toBe(true);
    expect(table.lookup('GET')!.oneKeyOnly).toBe(false);
    expect(table.lookup('SET')!.oneKeyOnly).toBe(false);
  });

  it('finds every name in request bytes in place, in any case, at an offset', () => {
    for (const spec of table.commands) {
      for (const name of [spec.name, spec.name.toLowerCase(), mixedCase(spec.name)]) {
        const bytes = Buffer.from(`*1\r\n$${name.length}\r\n${name}\r\n`, 'latin1');
        const start = bytes.indexOf(name);
        expect(table.lookupBytes(bytes, start, start + name.length), name).toBe(spec);
      }
    }
    const bytes = Buffer.from('xGETSETxSE');
    expect(table.lookupBytes(bytes, 1, 4)).toBe(table.lookup('GET'));
    expect(table.lookupBytes(bytes, 1, 7)).toBe(table.lookup('GETSET'));
    expect(table.lookupBytes(bytes, 8, 10)).toBeUndefined();
    expect(table.lookupBytes(bytes, 1, 1)).toBeUndefined();
    expect(table.lookupBytes(Buffer.from('G{T'), 0, 3)).toBeUndefined();
    expect(table.lookupBytes(Buffer.alloc(100, 0x41), 0, 100)).toBeUndefined();
  });
});

function mixedCase(name: string): string {
  return [...name].map((char, index) => (index % 2 === 0 ? char.toLowerCase() : char)).join('');
}
