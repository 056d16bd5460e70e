import { defineAppConfig } from '../../tooling/tsup/app-config.js';

export default defineAppConfig();
