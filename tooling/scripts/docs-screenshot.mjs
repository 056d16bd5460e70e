#!/usr/bin/env node
// `pnpm docs:screenshot`: starts every HTTP service (sources, free loopback ports, real Redis), opens
// its Swagger UI at /docs in headless Chromium, checks the rendered DOM shows the document's title and
// one of its operations, and writes a screenshot to deploy/check/docs-screenshots/<service>.png.
// Prints a table service → ok/failed; exit 1 if any failed, 2 if chromium is missing and cannot be
// installed. A script, not a test: Chromium is ~300 MB that `npm test` should not need; as root the
// script installs Debian's package itself (the project installs what it needs).
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { httpServices, root, withSourceLoader } from './http-services.mjs';

const CHROMIUM = 'chromium';
const CHROMIUM_TIMEOUT_MS = 60_000;
const run = promisify(execFile);

const hasChromium = () => !spawnSync(CHROMIUM, ['--version'], { stdio: 'ignore' }).error;
if (!hasChromium() && process.getuid?.() === 0) {
  console.log("chromium is not installed; installing Debian's package with apt-get");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', env });
}
if (!hasChromium()) {
  console.error('chromium is not installed. On Debian, as root: apt-get install -y chromium');
  process.exit(2);
}
withSourceLoader(import.meta.url);

const outputDirectory = join(root, 'deploy', 'check', 'docs-screenshots');
mkdirSync(outputDirectory, { recursive: true });
// One throwaway profile per run: no lock left by a crashed run, nothing read from a user profile.
const profile = mkdtempSync(join(tmpdir(), 'kvforge-chromium-'));

function chromium(extra, url) {
  return run(
    CHROMIUM,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      `--user-data-dir=${profile}`,
      '--window-size=1280,900',
      // Swagger UI fetches /docs/json and renders after load; virtual time lets it finish first.
      '--virtual-time-budget=5000',
      ...extra,
      url,
    ],
    { timeout: CHROMIUM_TIMEOUT_MS, maxBuffer: 32 * 1024 * 1024 },
  );
}

const escapeHtml = (text) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** What the rendered page must show: the document's title and its first operation's path. */
async function expectations(origin) {
  const response = await fetch(`${origin}/docs/json`);
  if (!response.ok) throw new Error(`GET /docs/json answered ${response.status}`);
  const document = await response.json();
  const path = Object.keys(document.paths ?? {})[0];
  if (!path) throw new Error('/docs/json documents no path');
  return { title: document.info.title, path, operations: Object.keys(document.paths).length };
}

async function check(service) {
  const running = await service.start();
  try {
    const expected = await expectations(running.origin);
    const url = `${running.origin}/docs`;
    const screenshot = join(outputDirectory, `${service.name}.png`);
    rmSync(screenshot, { force: true });
    // The screenshot first: when the DOM check fails, it shows what the page rendered instead.
    await chromium([`--screenshot=${screenshot}`], url);
    const bytes = statSync(screenshot, { throwIfNoEntry: false })?.size ?? 0;
    if (bytes === 0) throw new Error('chromium wrote no screenshot');
    const { stdout: dom } = await chromium(['--dump-dom'], url);
    // Swagger UI puts zero-width spaces into the visible path; the data-path attribute keeps it whole.
    const missing = [
      dom.includes(`class="title">${escapeHtml(expected.title)}`) ? undefined : `title "${expected.title}"`,
      dom.includes(`data-path="${escapeHtml(expected.path)}"`) ? undefined : `operation ${expected.path}`,
    ].filter(Boolean);
    if (missing.length > 0) throw new Error(`rendered /docs lacks ${missing.join(' and ')}`);
    return {
      ok: true,
      detail: `${expected.operations} paths, "${expected.title}", ${Math.round(bytes / 1024)} KB`,
    };
  } finally {
    await running.stop();
  }
}

const started = Date.now();
const { services, removeTemporaryDirectories } = await httpServices();
const rows = [];
for (const service of services) {
  const since = Date.now();
  try {
    rows.push({ name: service.name, ...(await check(service)) });
  } catch (error) {
    const detail = String(error.message).split('\n').slice(0, 3).join(' | ');
    rows.push({ name: service.name, ok: false, detail });
  }
  console.log(
    `  ${rows.at(-1).ok ? '✓' : '✗'} ${service.name} (${((Date.now() - since) / 1000).toFixed(1)} s)`,
  );
}
removeTemporaryDirectories();
rmSync(profile, { recursive: true, force: true });

const width = Math.max(...rows.map((row) => row.name.length), 'service'.length);
console.log(`\n${'service'.padEnd(width)}  result  detail`);
for (const row of rows)
  console.log(`${row.name.padEnd(width)}  ${(row.ok ? 'ok' : 'failed').padEnd(6)}  ${row.detail}`);
const failed = rows.filter((row) => !row.ok).length;
console.log(
  `\n${rows.length - failed} of ${rows.length} /docs pages render (screenshots in ${outputDirectory}, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
);
process.exit(failed > 0 ? 1 : 0);
