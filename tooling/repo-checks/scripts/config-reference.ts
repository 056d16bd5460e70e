// Rewrites the "Configuration reference" table of each product README from the apps' zod config
// schemas. Usage: pnpm --filter @kvforge/repo-checks config-reference
// test/config-reference.test.ts fails when a README differs from what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DCACHE_CONFIG_SPEC } from '@kvforge/app-dcache/src/config';
import { CONFIG_SERVER_CONFIG_SPEC } from '@kvforge/app-kvstore-config-server/src/config';
import { PROXY_CONFIG_SPEC } from '@kvforge/app-kvstore-proxy/src/config';
import { LOCAL_SERVICE_CONFIG } from '@kvforge/app-memcache-local-service/src/config';
import { META_SERVICE_CONFIG } from '@kvforge/app-memcache-meta-service/src/config';
import { GUNYU_APP_CONFIG } from '@kvforge/gunyu-sync';
import type { z } from 'zod';
import {
  configReferenceRows,
  renderConfigReferenceTable,
  replaceConfigReference,
} from '../src/config-reference';

export const REPOSITORY_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export const REGENERATE_COMMAND = 'pnpm --filter @kvforge/repo-checks config-reference';

/** The parts of an app's AppConfigSpec a table needs: its schema and the defaults `--help` shows as text. */
interface AppConfig {
  schema: z.ZodType;
  fields?: Readonly<Record<string, { defaultText?: string }>>;
}

export interface ConfigReference {
  /** README path from the repository root. */
  readme: string;
  /** The `name=` of the README's markers. */
  name: string;
  app: AppConfig;
  /** Defaults no value can show (they depend on the machine). */
  defaultText?: Readonly<Record<string, string>>;
}

export const CONFIG_REFERENCES: readonly ConfigReference[] = [
  { readme: 'packages/kvstore/README.md', name: 'kvstore-config-server', app: CONFIG_SERVER_CONFIG_SPEC },
  { readme: 'packages/kvstore/README.md', name: 'kvstore-proxy', app: PROXY_CONFIG_SPEC },
  {
    readme: 'packages/gunyu-sync/README.md',
    name: 'gunyu-sync',
    app: GUNYU_APP_CONFIG,
    defaultText: { 'output.replay.replayRdbParallel': '4 × CPU cores, at most 512' },
  },
  { readme: 'packages/dcache/README.md', name: 'dcache', app: DCACHE_CONFIG_SPEC },
  { readme: 'packages/memcache-hybrid/README.md', name: 'memcache-meta-service', app: META_SERVICE_CONFIG },
  { readme: 'packages/memcache-hybrid/README.md', name: 'memcache-local-service', app: LOCAL_SERVICE_CONFIG },
];

/** The generated table of one reference, headed by a note that it is generated. */
export function configReferenceTable(reference: ConfigReference): string {
  const defaultText: Record<string, string> = {};
  for (const [key, field] of Object.entries(reference.app.fields ?? {})) {
    if (field.defaultText !== undefined) defaultText[key] = field.defaultText;
  }
  Object.assign(defaultText, reference.defaultText);
  const rows = configReferenceRows(reference.app.schema, { defaultText });
  return [
    `<!-- generated from the zod schema; edit the schema's .describe() texts, then run ${REGENERATE_COMMAND} -->`,
    '',
    renderConfigReferenceTable(rows),
    '',
  ].join('\n');
}

export interface ReadmeState {
  readme: string;
  current: string;
  expected: string;
}

/** Each README that holds a reference, as it is and as the generator would write it. */
export function readmeStates(root: string = REPOSITORY_ROOT): ReadmeState[] {
  const states = new Map<string, ReadmeState>();
  for (const reference of CONFIG_REFERENCES) {
    let state = states.get(reference.readme);
    if (state === undefined) {
      const current = readFileSync(join(root, reference.readme), 'utf8');
      state = { readme: reference.readme, current, expected: current };
      states.set(reference.readme, state);
    }
    state.expected = replaceConfigReference(state.expected, reference.name, configReferenceTable(reference));
  }
  return [...states.values()];
}

function main(): void {
  for (const state of readmeStates()) {
    if (state.current === state.expected) {
      console.log(`  unchanged ${state.readme}`);
      continue;
    }
    writeFileSync(join(REPOSITORY_ROOT, state.readme), state.expected);
    console.log(`  rewrote   ${state.readme}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
