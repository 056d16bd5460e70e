import { definePackageConfig } from '@kvforge/vitest-config';

export default definePackageConfig({ test: { setupFiles: ['test/protobuf-long-setup.ts'] } });
