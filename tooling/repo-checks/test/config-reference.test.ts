import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  configReferenceRows,
  renderConfigReferenceTable,
  replaceConfigReference,
} from '../src/config-reference';
import { MissingReadmeMarkersError } from '../src/readme-section';

describe('configReferenceRows', () => {
  const schema = z.strictObject({
    listen: z.string().default('127.0.0.1:1').describe('where to listen'),
    mode: z.enum(['a', 'b']).default('a').describe('a | b'),
    token: z.string().min(1).optional().describe('secret'),
    seeds: z.array(z.url()).default([]).describe('seed urls'),
    port: z.number().int().min(0).max(65535).describe('a port'),
    positive: z.coerce.number().int().positive().default(5),
    ratio: z.number().min(0).default(0.5),
    size: z.union([z.string(), z.number()]).default('1mb'),
    path: z
      .string()
      .default('/x')
      .transform((text) => text.toUpperCase())
      .describe('transformed'),
    map: z.preprocess((value) => value, z.record(z.string(), z.number().int())).default({}),
    enabled: z.stringbool().default(false),
    empty: z.literal('').default(''),
    nested: z
      .strictObject({ depth: z.number().int().describe('from the object default'), deep: z.boolean() })
      .default({ depth: 3, deep: true }),
    group: z.strictObject({ name: z.string().describe('required inside') }).optional(),
  });

  it('turns each leaf into a row with its dotted key, type, default and description', () => {
    const rows = configReferenceRows(schema, { defaultText: { size: 'one megabyte' } });
    expect(rows).toEqual([
      { key: 'listen', type: 'string', default: '`127.0.0.1:1`', description: 'where to listen' },
      { key: 'mode', type: '"a" | "b"', default: '`a`', description: 'a | b' },
      { key: 'token', type: 'string', default: 'optional', description: 'secret' },
      { key: 'seeds', type: 'url[]', default: '`[]`', description: 'seed urls' },
      { key: 'port', type: 'integer 0–65535', default: 'required', description: 'a port' },
      { key: 'positive', type: 'integer ≥ 1', default: '`5`', description: '' },
      { key: 'ratio', type: 'number ≥ 0', default: '`0.5`', description: '' },
      { key: 'size', type: 'string | number', default: 'one megabyte', description: '' },
      { key: 'path', type: 'string', default: '`/x`', description: 'transformed' },
      { key: 'map', type: 'record<string, integer>', default: '`{}`', description: '' },
      { key: 'enabled', type: 'boolean', default: '`false`', description: '' },
      { key: 'empty', type: '""', default: '`""`', description: '' },
      { key: 'nested.depth', type: 'integer', default: '`3`', description: 'from the object default' },
      { key: 'nested.deep', type: 'boolean', default: '`true`', description: '' },
      { key: 'group.name', type: 'string', default: 'required', description: 'required inside' },
    ]);
  });

  it('renders one table line per row with pipes escaped', () => {
    const table = renderConfigReferenceTable(configReferenceRows(schema).slice(0, 2));
    expect(table.split('\n')).toEqual([
      '| key | type | default | description |',
      '| --- | --- | --- | --- |',
      '| `listen` | `string` | `127.0.0.1:1` | where to listen |',
      '| `mode` | `"a" \\| "b"` | `a` | a \\| b |',
    ]);
  });
});

describe('replaceConfigReference', () => {
  const readme = [
    '# title',
    '<!-- config-reference:start name=one -->',
    'stale',
    '<!-- config-reference:end -->',
    'between',
    '<!-- config-reference:start name=two -->',
    '<!-- config-reference:end -->',
    'after',
  ].join('\n');

  it('replaces only the text between the named markers', () => {
    expect(replaceConfigReference(readme, 'one', 'TABLE')).toBe(readme.replace('stale', 'TABLE'));
    expect(replaceConfigReference(readme, 'two', 'TABLE')).toBe(
      readme.replace(
        'name=two -->\n<!-- config-reference:end',
        'name=two -->\nTABLE\n<!-- config-reference:end',
      ),
    );
  });

  it('throws when the README has no markers of that name', () => {
    expect(() => replaceConfigReference(readme, 'three', 'TABLE')).toThrow(MissingReadmeMarkersError);
  });
});
