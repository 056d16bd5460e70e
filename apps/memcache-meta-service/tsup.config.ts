import { defineConfig } from 'tsup';

// Workspace packages are bundled (from source) so the image needs only third-party deps.
export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  noExternal: [/^@kvforge\//],
  // CommonJS dependencies of the bundled workspace packages (yaml, …) call require() for builtins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  esbuildOptions(options) {
    options.conditions = ['@kvforge/source'];
  },
});
