import type { Options } from 'tsup';

export function defineAppConfig(overrides?: Options): ReturnType<typeof import('tsup').defineConfig>;
