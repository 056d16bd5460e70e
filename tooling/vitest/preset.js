// Shared vitest preset: resolve workspace packages to their TypeScript sources (the
// `@kvforge/source` export condition) so tests never wait for a build, and write a JSON
// report that tooling/scripts/run-tests.mjs sums into the CI summary line.
import { defineConfig, mergeConfig } from 'vitest/config';

// vitest also hands these to its worker processes as `node --conditions`, where they apply to
// require() too. No `import` (or `module`) here: with it, a CommonJS dependency's require() of a dual
// package loads the ESM build (protobufjs then got long's namespace instead of Long, and etcd lease
// IDs above 2^53 were sent rounded, so every in-worker keepalive failed). Vite adds import/require
// by itself for the modules it resolves.
const SOURCE_CONDITIONS = ['@kvforge/source', 'node', 'default'];

/** @param {import('vitest/config').UserConfig} [overrides] */
export function definePackageConfig(overrides = {}) {
  const reporters = process.env.KVFORGE_TEST_REPORT ? ['default', 'json'] : ['default'];
  return mergeConfig(
    defineConfig({
      resolve: { conditions: SOURCE_CONDITIONS },
      ssr: { resolve: { conditions: SOURCE_CONDITIONS, externalConditions: ['@kvforge/source'] } },
      test: {
        environment: 'node',
        include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
        testTimeout: 60_000,
        hookTimeout: 60_000,
        reporters,
        outputFile: { json: '.vitest-report.json' },
        pool: 'forks',
      },
    }),
    overrides,
  );
}
