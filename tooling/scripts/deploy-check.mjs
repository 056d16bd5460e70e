#!/usr/bin/env node
// What the Dockerfile does, without Docker: for every app, `pnpm deploy --prod --legacy` into a
// temp dir, then `node dist/main.js --help` there with nothing from the workspace (cwd and
// NODE_PATH outside it, every node_modules entry resolving inside the temp dir). The dcache
// deploy is also started once to prove /docs (swagger-ui's static files) works from a deploy.
// Usage: node tooling/scripts/deploy-check.mjs [--no-build] [app ...]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const root = realpathSync(new URL('../..', import.meta.url).pathname);
const argv = process.argv.slice(2);
const build = !argv.includes('--no-build');
const requested = argv.filter((argument) => !argument.startsWith('--'));
const apps =
  requested.length > 0
    ? requested
    : readdirSync(join(root, 'apps'))
        .filter((name) => existsSync(join(root, 'apps', name, 'package.json')))
        .sort();
const target = mkdtempSync(join(tmpdir(), 'kvforge-deploy-'));
const started = Date.now();
const failures = [];

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

// Only the apps are built: their tsup bundles inline the workspace packages from source (the
// `@kvforge/source` condition), so no library dist/ is written while other packages' tests run.
if (build) {
  const since = Date.now();
  execFileSync(
    'pnpm',
    [
      ...apps.flatMap((app) => ['--filter', `@kvforge/app-${app}`]),
      '--workspace-concurrency=1',
      '--reporter=silent',
      'run',
      'build',
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  console.log(`build ${seconds(since)}`);
}

/** Every top-level dependency of the deploy must be a real directory inside it, never a workspace link. */
function leaksIntoWorkspace(directory) {
  const modules = join(directory, 'node_modules');
  const entries = readdirSync(modules).flatMap((name) =>
    name.startsWith('@') ? readdirSync(join(modules, name)).map((sub) => `${name}/${sub}`) : [name],
  );
  return entries.filter(
    (name) => !name.startsWith('.') && realpathSync(join(modules, name)).startsWith(`${root}/`),
  );
}

for (const app of apps) {
  const since = Date.now();
  const directory = join(target, app);
  try {
    execFileSync(
      'pnpm',
      ['--filter', `@kvforge/app-${app}`, 'deploy', '--prod', '--legacy', '--prefer-offline', directory],
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const leaks = leaksIntoWorkspace(directory);
    if (leaks.length > 0)
      throw new Error(`node_modules entries resolve into the workspace: ${leaks.join(', ')}`);
    const help = execFileSync('node', ['dist/main.js', '--help'], {
      cwd: directory,
      timeout: 60_000,
      env: { PATH: process.env.PATH, HOME: directory, NODE_ENV: 'production' },
      encoding: 'utf8',
    });
    if (!/Usage:/.test(help)) throw new Error(`--help printed no usage line:\n${help}`);
    if (app === 'dcache') await docsFromDeploy(directory);
    console.log(`  ✓ ${app.padEnd(24)} ${seconds(since)}`);
  } catch (error) {
    failures.push(app);
    console.log(
      `  ✗ ${app.padEnd(24)} ${String(error.stderr ?? error.message)
        .trim()
        .split('\n')
        .slice(-5)
        .join('\n    ')}`,
    );
  }
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the deployed dcache node and fetches /docs, its JSON and one swagger-ui static file. */
async function docsFromDeploy(directory) {
  const port = await freePort();
  const child = spawn(
    'node',
    ['dist/main.js', '--node-id', 'deploy-check', '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'],
    {
      cwd: directory,
      env: { PATH: process.env.PATH, HOME: directory },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const health = await fetch(`http://127.0.0.1:${port}/api/v1/health`).catch(() => undefined);
      if (health?.ok) break;
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error('the deployed dcache did not become healthy');
      await delay(100);
    }
    for (const path of ['/docs/', '/docs/json', '/docs/static/swagger-ui.css']) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      if (!response.ok) throw new Error(`GET ${path} answered ${response.status} from the deploy`);
    }
  } finally {
    child.kill('SIGTERM');
  }
}

// pnpm deploy links the deploy's own bins (node_modules/.bin/pino) at the target's path relative to
// the workspace root but resolved from the app's directory (apps/<app>/): with the checkout inside the
// temp dir (a clone in /tmp) that lands as apps/kvforge-deploy-XXXX/ in the checkout. Remove it.
const misplaced = resolve(root, 'apps', 'app', relative(root, target));
if (misplaced.startsWith(`${root}/`)) rmSync(misplaced, { recursive: true, force: true });
rmSync(target, { recursive: true, force: true });
if (failures.length > 0) console.log(`failed: ${failures.join(', ')}`);
console.log(
  `${apps.length - failures.length} of ${apps.length} apps deploy and run outside the workspace (${seconds(started)})`,
);
process.exit(failures.length > 0 ? 1 : 0);
