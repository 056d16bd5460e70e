import { describe, expect, it } from 'vitest';
import { CommandLineError, parseCommandLine } from './command-line';

const spec = {
  name: 'demo',
  usage: 'demo --port N',
  flags: {
    port: { type: 'number', description: 'port to listen on', default: 6380 },
    'data-dir': { type: 'string', description: 'where state lives', valueName: 'DIR' },
    verbose: { type: 'boolean', description: 'log more', short: 'v' },
    seeds: { type: 'list', description: 'peers' },
  },
  dottedPrefixes: ['sync.'],
} as const;

describe('parseCommandLine', () => {
  it('parses every flag form', () => {
    const parsed = parseCommandLine(
      [
        '--port',
        '7000',
        '--data-dir=/tmp/x',
        '-v',
        '--seeds',
        'a:1, b:2',
        '--sync.input.redis.addresses=1.2.3.4:6379',
        'rest',
      ],
      spec,
    );
    expect(parsed.values).toEqual({ port: 7000, 'data-dir': '/tmp/x', verbose: true, seeds: ['a:1', 'b:2'] });
    expect(parsed.dotted).toEqual({ 'sync.input.redis.addresses': '1.2.3.4:6379' });
    expect(parsed.positionals).toEqual(['rest']);
    expect(parsed.helpRequested).toBe(false);
  });

  it('supports --no-flag and explicit booleans', () => {
    expect(parseCommandLine(['--no-verbose'], spec).values.verbose).toBe(false);
    expect(parseCommandLine(['--verbose=true'], spec).values.verbose).toBe(true);
  });

  it('names the bad flag', () => {
    expect(() => parseCommandLine(['--prot', '1'], spec)).toThrow(
      new CommandLineError('unknown option --prot (see --help)'),
    );
    expect(() => parseCommandLine(['--port', 'abc'], spec)).toThrow(/--port expects a number, got "abc"/);
    expect(() => parseCommandLine(['--data-dir'], spec)).toThrow(/--data-dir needs a value/);
  });

  it('builds a help text listing every flag and its default', () => {
    const parsed = parseCommandLine(['--help'], spec);
    expect(parsed.helpRequested).toBe(true);
    expect(parsed.help).toContain('--port N');
    expect(parsed.help).toContain('(default: 6380)');
    expect(parsed.help).toContain('--data-dir DIR');
    expect(parsed.help).toContain('-v, --verbose');
  });
});
