// The "Configuration reference" tables of the product READMEs, generated from the apps' zod config
// schemas (written by scripts/readme-tables.ts; test/config-reference.test.ts fails when one is stale).
import { DCACHE_CONFIG_SPEC } from '@kvforge/app-dcache/src/config';
import { CONFIG_SERVER_CONFIG_SPEC } from '@kvforge/app-kvstore-config-server/src/config';
import { PROXY_CONFIG_SPEC } from '@kvforge/app-kvstore-proxy/src/config';
import { LOCAL_SERVICE_CONFIG } from '@kvforge/app-memcache-local-service/src/config';
import { META_SERVICE_CONFIG } from '@kvforge/app-memcache-meta-service/src/config';
import { GUNYU_APP_CONFIG } from '@kvforge/gunyu-sync';
import type { z } from 'zod';
import { configReferenceRows, renderConfigReferenceTable } from '../src/config-reference';
import { generatedNote } from '../src/readme-section';

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
  return generatedNote(
    "the zod schema; edit the schema's .describe() texts",
    renderConfigReferenceTable(rows),
  );
}
