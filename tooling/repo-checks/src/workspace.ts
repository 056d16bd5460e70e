import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface WorkspacePackage {
  name: string;
  /** `packages/dcache`, relative to the repository root. */
  directory: string;
  kind: 'package' | 'app' | 'tooling';
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}

const GROUPS = { packages: 'package', apps: 'app', tooling: 'tooling' } as const;
/** Workspace packages that are a root directory of their own (the library examples are private users). */
const SINGLES = { examples: 'tooling' } as const;

export function readWorkspace(root: string): WorkspacePackage[] {
  const grouped = Object.entries(GROUPS).flatMap(([group, kind]) =>
    readdirSync(join(root, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(root, group, entry.name, 'package.json')))
      .map((entry) => readPackage(root, `${group}/${entry.name}`, kind)),
  );
  const singles = Object.entries(SINGLES)
    .filter(([directory]) => existsSync(join(root, directory, 'package.json')))
    .map(([directory, kind]) => readPackage(root, directory, kind));
  return [...grouped, ...singles];
}

function readPackage(root: string, directory: string, kind: WorkspacePackage['kind']): WorkspacePackage {
  const manifest = JSON.parse(readFileSync(join(root, directory, 'package.json'), 'utf8'));
  return {
    name: manifest.name as string,
    directory,
    kind,
    dependencies: manifest.dependencies ?? {},
    devDependencies: manifest.devDependencies ?? {},
    peerDependencies: manifest.peerDependencies ?? {},
  };
}

const SOURCE_FILE = /\.(?:[cm]?[jt]s|tsx)$/;
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'dist', '.turbo', 'coverage']);

/** Source files below a directory, relative to it. */
export function sourceFiles(directory: string): string[] {
  const files: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current)) {
      if (SKIPPED_DIRECTORIES.has(entry)) continue;
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (SOURCE_FILE.test(entry) && !entry.endsWith('.d.ts')) files.push(relative(directory, path));
    }
  };
  walk(directory);
  return files;
}
