import { describe, expect, it } from 'vitest';
import { checkpointFields, checkpointFromHash, isNewer } from './checkpoint';
import { CommandFilter, DEFAULT_FILTER_OPTIONS } from './command-filter';

describe('CommandFilter', () => {
  const filter = new CommandFilter({
    ...DEFAULT_FILTER_OPTIONS,
    commandBlacklist: ['del'],
    prefixKeyBlacklist: ['secret:'],
    dbBlacklist: [5],
  });

  it('drops admin, blacklisted and sentinel hello commands', () => {
    expect(filter.command('PING', 0, undefined)).toBe('drop');
    expect(filter.command('FLUSHALL', 0, undefined)).toBe('drop');
    expect(filter.command('DEL', 0, Buffer.from('a'))).toBe('drop');
    expect(filter.command('PUBLISH', 0, Buffer.from('__sentinel__:hello'))).toBe('drop');
    expect(filter.command('PUBLISH', 0, Buffer.from('news'))).toBe('pass');
  });

  it('filters by key prefix, reserved checkpoint keys and db', () => {
    expect(filter.command('SET', 0, Buffer.from('secret:x'))).toBe('drop');
    expect(filter.command('HSET', 0, Buffer.from('redis-gunyu-checkpoint'))).toBe('drop');
    expect(filter.command('SET', 5, Buffer.from('a'))).toBe('drop');
    expect(filter.command('SET', 0, Buffer.from('a'))).toBe('pass');
    expect(filter.command('MULTI', 0, undefined)).toBe('pass');
  });

  it('applies a whitelist when one is given', () => {
    const only = new CommandFilter({ ...DEFAULT_FILTER_OPTIONS, prefixKeyWhitelist: ['keep:'] });
    expect(only.keyAllowed('keep:1')).toBe(true);
    expect(only.keyAllowed('other')).toBe(false);
  });
});

describe('checkpoint layout', () => {
  it('writes GunYu field names and reads the newest of both replication ids', () => {
    const fields = checkpointFields('abc', 42, 1000n);
    expect(fields).toEqual([
      'abc_runid',
      'abc',
      'abc_version',
      '1.0',
      'abc_offset',
      '42',
      'abc_mtime',
      '1000',
    ]);
    const hash = { abc_offset: '42', abc_mtime: '1', old_offset: '50', old_mtime: '2' };
    expect(checkpointFromHash(hash, ['abc', 'old'], 3)).toMatchObject({ runId: 'old', offset: 50, db: 3 });
    expect(checkpointFromHash(hash, ['zzz'], 0)).toBeUndefined();
    expect(
      isNewer(
        { runId: 'a', offset: 1, version: '1', mtime: '5', db: 0 },
        { runId: 'a', offset: 1, version: '1', mtime: '4', db: 0 },
      ),
    ).toBe(true);
  });
});

describe('slot filter', () => {
  // CLUSTER KEYSLOT: foo 12182, bar 5061.
  it('drops keys in blacklisted slots and keeps only whitelisted ones', () => {
    const black = new CommandFilter({ ...DEFAULT_FILTER_OPTIONS, keySlotBlacklist: [[12000, 12999]] });
    expect(black.command('SET', 0, Buffer.from('foo'))).toBe('drop');
    expect(black.command('SET', 0, Buffer.from('bar'))).toBe('pass');
    const white = new CommandFilter({ ...DEFAULT_FILTER_OPTIONS, keySlotWhitelist: [[5061], [0, 100]] });
    expect(white.keyBytesAllowed(Buffer.from('bar'))).toBe(true);
    expect(white.keyBytesAllowed(Buffer.from('foo'))).toBe(false);
    const both = new CommandFilter({
      ...DEFAULT_FILTER_OPTIONS,
      keySlotWhitelist: [[0, 16383]],
      keySlotBlacklist: [[5061]],
    });
    expect(both.keyBytesAllowed(Buffer.from('bar'))).toBe(false);
    expect(both.keyBytesAllowed(Buffer.from('foo'))).toBe(true);
  });
});
