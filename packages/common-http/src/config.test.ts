import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig, mergeConfigLayers, readConfigFile, setPath } from './config';

const schema = z.strictObject({
  port: z.number().int().min(1).max(65535),
  server: z
    .strictObject({ host: z.string().default('127.0.0.1'), debug: z.stringbool().default(false) })
    .default({
      host: '127.0.0.1',
      debug: false,
    }),
});

describe('config layers', () => {
  it('lets later layers win and merges nested objects', () => {
    expect(mergeConfigLayers([{ a: 1, n: { x: 1, y: 2 } }, { n: { y: 3 } }, { a: undefined }])).toEqual({
      a: 1,
      n: { x: 1, y: 3 },
    });
  });

  it('validates the merged result', () => {
    const config = loadConfig(schema, [{ port: 1 }, { server: { debug: 'true' } }, { port: 7000 }]);
    expect(config).toEqual({ port: 7000, server: { host: '127.0.0.1', debug: true } });
  });

  it('names bad and unknown fields', () => {
    expect(() => loadConfig(schema, [{ port: 70000, extra: 1 }])).toThrow(ConfigError);
    expect(() => loadConfig(schema, [{ port: 70000, server: { hots: 'x' } }])).toThrow(
      /port[\s\S]*hots|hots[\s\S]*port/,
    );
  });

  it('sets dotted paths and refuses prototype keys', () => {
    const target: Record<string, unknown> = {};
    setPath(target, 'input.redis.addresses', ['a']);
    expect(target).toEqual({ input: { redis: { addresses: ['a'] } } });
    expect(() => setPath(target, '__proto__.polluted', 1)).toThrow(ConfigError);
  });

  it('reads YAML and JSON files and reports unreadable ones', () => {
    const directory = mkdtempSync(join(tmpdir(), 'kvforge-config-'));
    writeFileSync(join(directory, 'a.yaml'), 'port: 7000\nserver:\n  host: 0.0.0.0\n');
    writeFileSync(join(directory, 'b.json'), '{"port": 1}');
    expect(readConfigFile(join(directory, 'a.yaml'))).toEqual({ port: 7000, server: { host: '0.0.0.0' } });
    expect(readConfigFile(join(directory, 'b.json'))).toEqual({ port: 1 });
    expect(() => readConfigFile(join(directory, 'missing.yaml'))).toThrow(/cannot read config file/);
  });
});
