import { describe, expect, it } from 'vitest';
import { commandName } from './command-name';

describe('commandName', () => {
  it('upper-cases names and interns them across calls and cases', () => {
    const first = commandName(Buffer.from('xset'), 1, 4);
    expect(first).toBe('SET');
    expect(commandName(Buffer.from('sEt'), 0, 3)).toBe(first);
    expect(commandName(Buffer.from('hset'), 0, 4)).toBe('HSET');
    expect(commandName(Buffer.from('SETX'), 0, 4)).toBe('SETX');
  });

  it('never returns a cached name for different bytes (hash collisions fall back to decoding)', () => {
    const names = Array.from({ length: 3000 }, (_, index) => `cmd${index}`);
    for (const name of names) expect(commandName(Buffer.from(name), 0, name.length)).toBe(name.toUpperCase());
    for (const name of names) expect(commandName(Buffer.from(name), 0, name.length)).toBe(name.toUpperCase());
    const long = 'x'.repeat(40);
    expect(commandName(Buffer.from(long), 0, 40)).toBe(long.toUpperCase());
  });
});
