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
  esbuildOptions(options) {
    options.conditions = ['@kvforge/source'];
  },
});
