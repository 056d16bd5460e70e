#!/usr/bin/env node
// Runs `.ci/run` N times in a row on a clean clone of the current commit and reports, per test,
// how many runs it failed in: the flake detector of the "never flakes" rule.
// Usage: node tooling/scripts/ci-repeat.mjs [N=10] [--keep] [--stop-on-failure]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBrokenFile, readReports } from './vitest-reports.mjs';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log('Usage: node tooling/scripts/ci-repeat.mjs [N=10] [--keep] [--stop-on-failure]');
  console.log('Clones HEAD into a temp directory, runs .ci/run N times, prints failures per test.');
  process.exit(0);
}
const runs = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 10);
const keep = args.includes('--keep');
const stopOnFailure = args.includes('--stop-on-failure');

const root = new URL('../..', import.meta.url).pathname;
const clone = mkdtempSync(join(tmpdir(), 'kvforge-ci-repeat-'));
const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
  cwd: root,
  encoding: 'utf8',
}).stdout.trim();
spawnSync('git', ['clone', '--quiet', root, clone], { stdio: 'inherit' });
console.log(`ci-repeat: ${runs} runs of .ci/run on a clean clone of ${head} in ${clone}`);

/** Failed test names of one finished run. */
function failedTests() {
  const failed = [];
  for (const report of readReports(clone)) {
    for (const file of report.testResults ?? []) {
      const relative = file.name.slice(clone.length + 1);
      if (isBrokenFile(file)) failed.push(`${relative} (file failed to run)`);
      for (const assertion of file.assertionResults ?? []) {
        if (assertion.status === 'failed') failed.push(`${relative} > ${assertion.fullName}`);
      }
    }
  }
  return failed;
}

const failures = new Map();
let green = 0;
for (let run = 1; run <= runs; run++) {
  const started = Date.now();
  const result = spawnSync('bash', ['.ci/run'], { cwd: clone, encoding: 'utf8', maxBuffer: 1 << 28 });
  const output = `${result.stdout}\n${result.stderr}`;
  writeFileSync(join(clone, `ci-run-${run}.log`), output);
  const summary = output.match(/^\d+ passed, \d+ failed.*$/m)?.[0] ?? 'no summary line';
  const failed = failedTests();
  for (const name of failed) failures.set(name, (failures.get(name) ?? 0) + 1);
  if (result.status === 0) green++;
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`run ${run}/${runs}: ${result.status === 0 ? 'green' : 'RED'} in ${seconds} s — ${summary}`);
  for (const name of failed) console.log(`  failed: ${name}`);
  if (result.status !== 0 && failed.length === 0) console.log(`  (see ${join(clone, `ci-run-${run}.log`)})`);
  if (result.status !== 0 && stopOnFailure) break;
}

console.log(`\n${green} of ${runs} runs green`);
if (failures.size > 0) {
  console.log('failures per test:');
  for (const [name, count] of [...failures].sort((a, b) => b[1] - a[1])) console.log(`  ${count}× ${name}`);
}
if (!keep && green === runs) rmSync(clone, { recursive: true, force: true });
else console.log(`logs kept in ${clone}`);
process.exit(green === runs ? 0 : 1);
