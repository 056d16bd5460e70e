import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importedPackages, namesPackageAsString } from './imports';
import { readWorkspace, sourceFiles, type WorkspacePackage } from './workspace';

/** Build and test tools used by scripts and config files, never imported by code. */
const TOOLS = new Set([
  '@kvforge/tsconfig',
  '@kvforge/vitest-config',
  '@types/node',
  'tsup',
  'tsx',
  'typescript',
  'vitest',
  '@biomejs/biome',
]);

export interface DependencyProblem {
  package: string;
  dependency: string;
  problem: 'undeclared' | 'unused';
  detail: string;
}

/** Runtime code is all but tests, benchmarks, dev scripts and build/test configs (`src/`, or a preset at the root). */
function isRuntimeFile(file: string): boolean {
  if (/^(test|bench|scripts)\//.test(file)) return false;
  return !/\.(test|bench|config)\.[cm]?[jt]s$/.test(file);
}

interface PackageSources {
  runtime: string[];
  development: string[];
}

function readSources(root: string, workspacePackage: WorkspacePackage): PackageSources {
  const directory = join(root, workspacePackage.directory);
  const sources: PackageSources = { runtime: [], development: [] };
  for (const file of sourceFiles(directory)) {
    (isRuntimeFile(file) ? sources.runtime : sources.development).push(
      readFileSync(join(directory, file), 'utf8'),
    );
  }
  return sources;
}

const importsOf = (texts: readonly string[]): Set<string> =>
  new Set(texts.flatMap((text) => [...importedPackages(text)]));

/**
 * Third-party dependencies of the workspace packages an app bundles: apps inline every `@kvforge/*`
 * package from source (tooling/tsup/app-config.js), so the bundle imports those packages' dependencies
 * and the app may declare them. (They also arrive transitively through the workspace dependency.)
 */
function bundledThirdParty(app: WorkspacePackage, byName: Map<string, WorkspacePackage>): Set<string> {
  const needed = new Set<string>();
  const visited = new Set<string>();
  const visit = (workspacePackage: WorkspacePackage): void => {
    for (const dependency of Object.keys(workspacePackage.dependencies)) {
      const inner = byName.get(dependency);
      if (inner === undefined) needed.add(dependency);
      else if (!visited.has(dependency)) {
        visited.add(dependency);
        visit(inner);
      }
    }
  };
  visit(app);
  return needed;
}

export function checkDependencies(root: string): DependencyProblem[] {
  const workspace = readWorkspace(root);
  const byName = new Map(workspace.map((workspacePackage) => [workspacePackage.name, workspacePackage]));
  const problems: DependencyProblem[] = [];
  for (const workspacePackage of workspace) {
    const sources = readSources(root, workspacePackage);
    const allTexts = [...sources.runtime, ...sources.development];
    const runtimeImports = importsOf(sources.runtime);
    const allImports = importsOf(allTexts);
    const runtimeDeclared = { ...workspacePackage.dependencies, ...workspacePackage.peerDependencies };
    const report = (dependency: string, problem: DependencyProblem['problem'], detail: string): void => {
      problems.push({ package: workspacePackage.name, dependency, problem, detail });
    };

    for (const dependency of runtimeImports) {
      if (dependency === workspacePackage.name) continue;
      if (!(dependency in runtimeDeclared))
        report(dependency, 'undeclared', 'imported by src/ but not in dependencies');
    }
    for (const dependency of allImports) {
      if (dependency === workspacePackage.name || dependency in runtimeDeclared) continue;
      if (!(dependency in workspacePackage.devDependencies)) {
        report(dependency, 'undeclared', 'imported by tests or configs but not in devDependencies');
      }
    }

    const bundled = workspacePackage.kind === 'app' ? bundledThirdParty(workspacePackage, byName) : new Set();
    for (const dependency of Object.keys(runtimeDeclared)) {
      const used =
        runtimeImports.has(dependency) ||
        bundled.has(dependency) ||
        sources.runtime.some((text) => namesPackageAsString(text, dependency));
      if (!used) report(dependency, 'unused', 'in dependencies but src/ never imports it');
    }
    for (const dependency of Object.keys(workspacePackage.devDependencies)) {
      if (TOOLS.has(dependency) || allImports.has(dependency)) continue;
      if (allTexts.some((text) => namesPackageAsString(text, dependency))) continue;
      report(dependency, 'unused', 'in devDependencies but nothing imports it');
    }
  }
  return problems;
}
