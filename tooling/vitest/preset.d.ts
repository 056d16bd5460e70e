import type { UserConfig } from 'vitest/config';

export function definePackageConfig(overrides?: UserConfig): UserConfig;
