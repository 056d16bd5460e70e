import { definePackageConfig } from '@kvforge/vitest-config';

export default definePackageConfig();
