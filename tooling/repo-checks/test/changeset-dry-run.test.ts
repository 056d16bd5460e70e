import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A release dry run on a clone of HEAD (no node_modules; the CLI runs from this checkout's
// node_modules with cwd = the clone), so the real checkout is never written. The working tree's
// .changeset/config.json is laid over the clone: a config edit is checked before it is committed.
const root = fileURLToPath(new URL('../../..', import.meta.url));
const changesetBinary = join(root, 'node_modules', '.bin', 'changeset');
const BUMPED = '@kvforge/runtime';
const SUMMARY = 'Dry run of the release flow (changeset-dry-run.test.ts).';

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

let clone = '';
const directoryOf = new Map<string, string>();
const versionBefore = new Map<string, string>();
let ignored: string[] = [];
let realVersionBefore = '';
let realChangelogBefore = false;

function changeset(...args: string[]): string {
  return execFileSync(changesetBinary, args, {
    cwd: clone,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function manifest(name: string): Manifest {
  return JSON.parse(readFileSync(join(clone, directoryOf.get(name) ?? name, 'package.json'), 'utf8'));
}

/** Every workspace package that reaches `target` through dependencies or peerDependencies. */
function dependantsOf(target: string): Set<string> {
  const found = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const name of directoryOf.keys()) {
      if (found.has(name) || name === target) continue;
      const { dependencies = {}, peerDependencies = {} } = manifest(name);
      const uses = Object.keys({ ...dependencies, ...peerDependencies });
      if (uses.some((dependency) => dependency === target || found.has(dependency))) {
        found.add(name);
        grew = true;
      }
    }
  }
  return found;
}

/** The package directories pnpm-workspace.yaml lists (`dir/*` or `dir` entries). */
function workspaceDirectories(): string[] {
  const yaml = readFileSync(join(clone, 'pnpm-workspace.yaml'), 'utf8');
  const list = yaml.slice(yaml.indexOf('packages:')).split(/\n(?=\S)/)[0] ?? '';
  return [...list.matchAll(/^\s+-\s+['"]?([^'"\s]+)/gm)].flatMap(([, pattern = '']) =>
    pattern.endsWith('/*')
      ? readdirSync(join(clone, pattern.slice(0, -2))).map((entry) => join(pattern.slice(0, -2), entry))
      : [pattern],
  );
}

const patched = (version: string) => version.replace(/\d+$/, (patch) => String(Number(patch) + 1));

beforeAll(() => {
  clone = mkdtempSync(join(tmpdir(), 'kvforge-changeset-'));
  execFileSync('git', ['clone', '--quiet', '--no-checkout', root, clone]);
  // `main` at HEAD whatever the checkout's branch: status compares against baseBranch main.
  execFileSync('git', [
    '-C',
    clone,
    'checkout',
    '--quiet',
    '-B',
    'main',
    execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim(),
  ]);
  copyFileSync(join(root, '.changeset', 'config.json'), join(clone, '.changeset', 'config.json'));
  // Exact package names (a glob in `ignore` would need matching here too).
  ignored = JSON.parse(readFileSync(join(clone, '.changeset', 'config.json'), 'utf8')).ignore;
  for (const directory of workspaceDirectories()) {
    if (!existsSync(join(clone, directory, 'package.json'))) continue;
    const { name, version } = JSON.parse(readFileSync(join(clone, directory, 'package.json'), 'utf8'));
    directoryOf.set(name, directory);
    versionBefore.set(name, version);
  }
  const realDirectory = join(root, directoryOf.get(BUMPED) ?? '');
  realVersionBefore = JSON.parse(readFileSync(join(realDirectory, 'package.json'), 'utf8')).version;
  realChangelogBefore = existsSync(join(realDirectory, 'CHANGELOG.md'));
});

afterAll(() => {
  if (clone) rmSync(clone, { recursive: true, force: true });
});

describe('changesets release dry run on a clone of HEAD', () => {
  it('changeset status accepts the pending changesets of HEAD', () => {
    // Throws (exit 1) on a mixed changeset, an unknown package or an invalid config.
    expect(changeset('status', '--verbose')).toMatch(/Packages to be bumped|NO packages to be bumped/);
  });

  it(`changeset version of a ${BUMPED} patch bumps it and, as configured, its dependants`, () => {
    // Only this test's changeset, so every bump below comes from it.
    for (const file of readdirSync(join(clone, '.changeset')))
      if (file.endsWith('.md') && file !== 'README.md') rmSync(join(clone, '.changeset', file));
    writeFileSync(join(clone, '.changeset', 'dry-run.md'), `---\n"${BUMPED}": patch\n---\n\n${SUMMARY}\n`);
    const plan = join(clone, 'release-plan.json');
    changeset('status', `--output=${plan}`);
    const releases: { name: string; type: string; newVersion: string }[] = JSON.parse(
      readFileSync(plan, 'utf8'),
    ).releases;
    rmSync(plan);

    const dependants = dependantsOf(BUMPED);
    const expected = new Set([BUMPED, ...[...dependants].filter((name) => !ignored.includes(name))]);
    // The dry run means something only if the bump reaches a library and an app.
    expect(dependants.has('@kvforge/common-http')).toBe(true);
    expect([...expected].some((name) => name.startsWith('@kvforge/app-'))).toBe(true);
    // An ignored dependant is listed with type "none": it keeps its version.
    const bumped = releases.filter((release) => release.type !== 'none');
    expect(new Set(bumped.map((release) => release.name))).toEqual(expected);
    for (const release of bumped) {
      expect(release.type, release.name).toBe('patch');
      expect(release.newVersion, release.name).toBe(patched(versionBefore.get(release.name) ?? ''));
    }

    changeset('version');
    for (const name of expected) {
      const version = patched(versionBefore.get(name) ?? '');
      expect(manifest(name).version, name).toBe(version);
      const changelog = readFileSync(join(clone, directoryOf.get(name) ?? '', 'CHANGELOG.md'), 'utf8');
      expect(changelog, name).toContain(`## ${version}`);
      if (name === BUMPED) expect(changelog).toContain(SUMMARY);
      // A dependant's entry names its bumped workspace dependencies with their new versions.
      for (const dependency of Object.keys(manifest(name).dependencies ?? {}))
        if (expected.has(dependency))
          expect(changelog, name).toContain(`${dependency}@${patched(versionBefore.get(dependency) ?? '')}`);
    }
    for (const name of directoryOf.keys())
      if (!expected.has(name)) expect(manifest(name).version, name).toBe(versionBefore.get(name));
    expect(existsSync(join(clone, '.changeset', 'dry-run.md'))).toBe(false);
  });

  it('left the real checkout alone', () => {
    const directory = join(root, directoryOf.get(BUMPED) ?? '');
    expect(JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')).version).toBe(realVersionBefore);
    expect(existsSync(join(directory, 'CHANGELOG.md'))).toBe(realChangelogBefore);
  });
});
