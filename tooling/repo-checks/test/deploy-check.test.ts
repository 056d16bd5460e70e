import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// CI has no dist/: tooling/scripts/deploy-check.mjs builds the apps itself (tsup bundles the
// workspace packages from source, so no library dist/ appears under other packages' running tests),
// deploys each with `pnpm deploy --prod` into a temp dir and runs `node dist/main.js --help` there.
const root = fileURLToPath(new URL('../../..', import.meta.url));
const script = fileURLToPath(new URL('../../scripts/deploy-check.mjs', import.meta.url));
const APPS = readdirSync(`${root}/apps`)
  .filter((name) => existsSync(`${root}/apps/${name}/package.json`))
  .sort();
// Seven builds and seven pnpm deploys on a loaded 2-core box: ~100 s idle, far more under load.
const DEPLOY_TIMEOUT = 15 * 60_000;

let output = '';

beforeAll(async () => {
  output = await new Promise<string>((resolve) => {
    execFile(
      process.execPath,
      [script],
      { cwd: root, timeout: DEPLOY_TIMEOUT, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve(`${stdout}${stderr}${error && !stdout ? String(error) : ''}`),
    );
  });
}, DEPLOY_TIMEOUT + 60_000);

describe('deploy check: every app runs outside the workspace', () => {
  it('lists every app in apps/', () => {
    expect(APPS.length).toBeGreaterThanOrEqual(7);
    expect(output).toContain(`${APPS.length} of ${APPS.length} apps deploy and run outside the workspace`);
  });

  it.each(APPS)('%s: pnpm deploy --prod, then node dist/main.js --help prints its usage', (app) => {
    const line = output.split('\n').find((entry) => entry.trim().split(/\s+/)[1] === app);
    // The failing app's last lines of output are in the assertion message.
    expect(line?.trim().startsWith('✓'), `${app} failed its deploy check:\n${output}`).toBe(true);
  });
});
