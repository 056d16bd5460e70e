import { describe, expect, it } from 'vitest';
import { checkDependencies } from '../src/dependency-check';
import { importedPackages, packageOf } from '../src/imports';

const root = new URL('../../..', import.meta.url).pathname;

describe('dependency check', () => {
  it('reads bare specifiers from imports, re-exports, dynamic imports and require', () => {
    // Quoted at run time so this file's own text does not read as importing them.
    const q = (name: string): string => `'${name}'`;
    const source = [
      `import { z } from ${q('zod')};`,
      `import type { Redis } from ${q('ioredis')};`,
      `export { x } from ${q('@kvforge/resp/sub')};`,
      `const m = await import(${q('etcd3')});`,
      `const y = require(${q('yaml')});`,
      `import ${q('./local')};`,
      `import { readFileSync } from ${q('node:fs')};`,
      `import { join } from ${q('path')};`,
    ].join('\n');
    expect([...importedPackages(source)].sort()).toEqual([
      '@kvforge/resp',
      'etcd3',
      'ioredis',
      'yaml',
      'zod',
    ]);
    expect(packageOf('fs/promises')).toBeUndefined();
  });

  it('does not read a flag ending in "from" followed by strings as an import', () => {
    const q = (text: string): string => `'${text}'`;
    const source = `spawn([${q('--cluster-from')},\n  from.id,\n  ${q('--cluster-to')}, to.id]);`;
    expect([...importedPackages(source)]).toEqual([]);
  });

  it('finds every package and app declaring exactly what it imports (apps: plus what their bundle needs)', () => {
    const problems = checkDependencies(root).map(
      (problem) => `${problem.package}: ${problem.dependency} ${problem.problem} (${problem.detail})`,
    );
    expect(problems).toEqual([]);
  });
});
