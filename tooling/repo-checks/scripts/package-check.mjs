#!/usr/bin/env node
// Every library package fit to publish: publint and @arethetypeswrong/cli (ESM-only profile: the
// packages ship ESM only, so node10 / require() resolutions are not goals) on its packed tarball.
// Needs the packages built (pnpm turbo run build). Usage: node tooling/repo-checks/scripts/package-check.mjs
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules', '.bin', name);
const failures = [];
for (const name of readdirSync(join(root, 'packages')).sort()) {
  const directory = join(root, 'packages', name);
  const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'));
  if (manifest.private) continue;
  for (const [tool, args] of [
    ['publint', ['--strict']],
    ['attw', ['--pack', '.', '--profile', 'esm-only', '--format', 'ascii']],
  ]) {
    try {
      execFileSync(bin(tool), args, { cwd: directory, stdio: ['ignore', 'pipe', 'pipe'] });
      console.log(`  ✓ ${manifest.name.padEnd(28)} ${tool}`);
    } catch (error) {
      failures.push(`${manifest.name} ${tool}`);
      console.log(
        `  ✗ ${manifest.name.padEnd(28)} ${tool}\n${String(error.stdout ?? '')}${String(error.stderr ?? '')}`,
      );
    }
  }
}
console.log(
  failures.length === 0 ? 'every package passes publint and attw' : `failed: ${failures.join(', ')}`,
);
process.exit(failures.length > 0 ? 1 : 0);
