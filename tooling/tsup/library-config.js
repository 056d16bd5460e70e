// Shared tsup settings for every library in packages/ (and tooling/testing): ESM + type
// declarations from src/index.ts; workspace and third-party imports stay external.
import { defineConfig } from 'tsup';

/** @param {import('tsup').Options} [overrides] */
export function defineLibraryConfig(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    dts: true,
    sourcemap: true,
    clean: true,
    ...overrides,
  });
}
