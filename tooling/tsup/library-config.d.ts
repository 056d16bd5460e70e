import type { Options } from 'tsup';

export function defineLibraryConfig(overrides?: Options): ReturnType<typeof import('tsup').defineConfig>;
