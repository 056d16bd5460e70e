#!/usr/bin/env node
// Runs every package's tests through turbo, then sums the vitest JSON reports into the one
// plain line CI reads: `N passed, N failed` (plus `, N skipped` when any were skipped).
import { spawnSync } from 'node:child_process';
import { isBrokenFile, readReports, removeReports } from './vitest-reports.mjs';

const root = new URL('../..', import.meta.url).pathname;
removeReports(root);

const extraArguments = process.argv.slice(2);
const result = spawnSync(
  'pnpm',
  ['turbo', 'run', 'test', '--concurrency=2', '--continue', '--force', ...extraArguments],
  { cwd: root, stdio: 'inherit', env: { ...process.env, KVFORGE_TEST_REPORT: '1' } },
);

let passed = 0;
let failed = 0;
let skipped = 0;
for (const report of readReports(root)) {
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  failed += (report.testResults ?? []).filter(isBrokenFile).length;
}
const turboFailed = result.status !== 0;
if (turboFailed && failed === 0) failed = 1; // a task died before writing its report
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(turboFailed || failed > 0 ? 1 : 0);
