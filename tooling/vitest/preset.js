// Shared vitest preset: resolve workspace packages to their TypeScript sources (the
// `@kvforge/source` export condition) so tests never wait for a build, and write a JSON
// report that tooling/scripts/run-tests.mjs sums into the CI summary line.
import { defineConfig, mergeConfig } from 'vitest/config';

const SOURCE_CONDITIONS = ['@kvforge/source', 'import', 'module', 'node', 'default'];

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
