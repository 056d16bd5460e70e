import { defineLibraryConfig } from '../../tooling/tsup/library-config.js';

export default defineLibraryConfig();
