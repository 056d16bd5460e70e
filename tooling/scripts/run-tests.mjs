#!/usr/bin/env node
// Runs every package's tests through turbo, then sums the vitest JSON reports into the one
// plain line CI reads: `N passed, N failed` (plus `, N skipped` when any were skipped).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const workspaceDirectories = ['packages', 'apps', 'tooling'].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, group, entry.name)),
);
const reportPath = (directory) => join(directory, '.vitest-report.json');
for (const directory of workspaceDirectories) rmSync(reportPath(directory), { force: true });

const extraArguments = process.argv.slice(2);
const result = spawnSync(
  'pnpm',
  ['turbo', 'run', 'test', '--concurrency=2', '--continue', '--force', ...extraArguments],
  { cwd: root, stdio: 'inherit', env: { ...process.env, KVFORGE_TEST_REPORT: '1' } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
for (const directory of workspaceDirectories) {
  if (!existsSync(reportPath(directory))) continue;
  const report = JSON.parse(readFileSync(reportPath(directory), 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A file that fails to load has no tests in it but is a failure all the same.
  const brokenFiles = (report.testResults ?? []).filter(
    (file) => file.status === 'failed' && (file.assertionResults ?? []).length === 0,
  ).length;
  failed += brokenFiles;
}
const turboFailed = result.status !== 0;
if (turboFailed && failed === 0) failed = 1; // a task died before writing its report
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(turboFailed || failed > 0 ? 1 : 0);
