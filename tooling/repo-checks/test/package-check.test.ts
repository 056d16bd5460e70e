import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// publint --strict and attw on every library package's packed tarball (scripts/package-check.mjs),
// run in a clone of HEAD: building the libraries writes dist/ there, never into the checkout whose
// other packages' tests run beside this one. `pnpm install --offline` links from the local store
// that the checkout's install filled, so the clone needs no network.
const root = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);
// One install, eight builds with declarations and sixteen packs on a loaded 2-core box.
const CHECK_TIMEOUT = 12 * 60_000;

const LIBRARIES = readdirSync(join(root, 'packages'))
  .map((directory) => JSON.parse(readFileSync(join(root, 'packages', directory, 'package.json'), 'utf8')))
  .filter((manifest) => !manifest.private)
  .map((manifest): string => manifest.name)
  .sort();

let clone = '';
let output = '';

beforeAll(async () => {
  clone = mkdtempSync(join(tmpdir(), 'kvforge-package-check-'));
  execFileSync('git', ['clone', '--quiet', root, clone]);
  const inClone = { cwd: clone, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, CI: '1' } };
  try {
    await run('pnpm', ['install', '--offline', '--frozen-lockfile', '--reporter=silent'], inClone);
    await run(
      'pnpm',
      ['--filter', './packages/*', '--workspace-concurrency=1', '--reporter=silent', 'run', 'build'],
      inClone,
    );
    const check = await run(process.execPath, ['tooling/repo-checks/scripts/package-check.mjs'], inClone);
    output = check.stdout;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    output = `${failed.stdout ?? ''}${failed.stderr ?? ''}\n${failed.message}`;
  }
}, CHECK_TIMEOUT);

afterAll(() => {
  if (clone) rmSync(clone, { recursive: true, force: true });
});

describe('every library package is fit to publish (publint and attw on its tarball)', () => {
  it('there are library packages to check', () => {
    expect(LIBRARIES.length).toBeGreaterThanOrEqual(8);
  });

  it.each(LIBRARIES.flatMap((name) => [`${name} publint`, `${name} attw`]))('%s', (check) => {
    const [name, tool] = check.split(' ');
    const passed = output
      .split('\n')
      .some((line) => line.trim().split(/\s+/).join(' ') === `✓ ${name} ${tool}`);
    // The whole output (the failing tool's report, or the install/build error) is the message.
    expect(passed, `${check} did not pass:\n${output}`).toBe(true);
  });
});
