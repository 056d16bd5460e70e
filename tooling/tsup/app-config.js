// Shared tsup settings for every server binary in apps/: one ESM file per app with the workspace packages
// bundled from source (the image then needs only third-party dependencies).
import { defineConfig } from 'tsup';

// Bundled CommonJS dependencies (yaml, …) call require() for Node builtins; ESM output has no require.
const REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** @param {import('tsup').Options} [overrides] */
export function defineAppConfig(overrides = {}) {
  return defineConfig({
    entry: ['src/main.ts'],
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    clean: true,
    noExternal: [/^@kvforge\//],
    banner: { js: REQUIRE_SHIM },
    esbuildOptions(options) {
      options.conditions = ['@kvforge/source'];
    },
    ...overrides,
  });
}
