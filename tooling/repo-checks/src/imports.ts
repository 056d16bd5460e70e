import { builtinModules } from 'node:module';

const BUILTINS = new Set(builtinModules);

// Static and dynamic imports, re-exports and require(); good enough for this repo's own code. A
// specifier has no whitespace, and `from` is a keyword only when not part of a flag such as
// `'--cluster-from', x, '…'` (which once read as an import of ", x, ").
const SPECIFIER = /(?:(?<![\w$.-])from\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)['"]([^'"\s]+)['"]/g;

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined when relative or a builtin. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:'))
    return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  return BUILTINS.has(name) ? undefined : name;
}

export function importedPackages(source: string): Set<string> {
  const packages = new Set<string>();
  for (const match of source.matchAll(SPECIFIER)) {
    const name = packageOf(match[1]!);
    if (name !== undefined) packages.add(name);
  }
  return packages;
}

/** Some packages are loaded by name rather than imported (pino transports such as `pino-pretty`). */
export function namesPackageAsString(source: string, name: string): boolean {
  return source.includes(`'${name}'`) || source.includes(`"${name}"`);
}
