// The vitest JSON reports (`.vitest-report.json`) each workspace writes when KVFORGE_TEST_REPORT is set.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const GROUPS = ['packages', 'apps', 'tooling'];
/** Workspace packages that are a directory of their own at the root, not a group of them. */
const SINGLES = ['examples'];

export function workspaceDirectories(root) {
  const grouped = GROUPS.flatMap((group) =>
    existsSync(join(root, group))
      ? readdirSync(join(root, group), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => join(root, group, entry.name))
      : [],
  );
  return [
    ...grouped,
    ...SINGLES.map((single) => join(root, single)).filter((directory) => existsSync(directory)),
  ];
}

const reportPath = (directory) => join(directory, '.vitest-report.json');

export function removeReports(root) {
  for (const directory of workspaceDirectories(root)) rmSync(reportPath(directory), { force: true });
}

/** Every report of the last run, as parsed JSON. */
export function readReports(root) {
  return workspaceDirectories(root)
    .filter((directory) => existsSync(reportPath(directory)))
    .map((directory) => JSON.parse(readFileSync(reportPath(directory), 'utf8')));
}

/** A file that fails to load has no tests in it but is a failure all the same. */
export const isBrokenFile = (file) => file.status === 'failed' && (file.assertionResults ?? []).length === 0;
