// Rewrites the generated sections of the product READMEs: each app's "Configuration reference" from
// its zod config schema, and each product's "Alerts and runbook" from deploy/prometheus/<product>-rules.yml.
// Usage: pnpm --filter @kvforge/repo-checks readme-tables
// test/readme-tables.test.ts fails when a README differs from what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { alertRows, renderAlertsTable } from '../src/alerts-runbook';
import { generatedNote, replaceReadmeSection } from '../src/readme-section';
import { CONFIG_REFERENCES, configReferenceTable } from './config-reference';

export const REPOSITORY_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** One generated section: which README, its markers (`kind`, `name`) and its content. */
export interface ReadmeSection {
  readme: string;
  kind: 'config-reference' | 'alerts';
  name: string;
  render(root: string): string;
}

export const PRODUCTS = ['kvstore', 'gunyu-sync', 'dcache', 'memcache-hybrid'] as const;

export const rulesFile = (product: string) => `deploy/prometheus/${product}-rules.yml`;

export const readAlertRows = (root: string, product: string) =>
  alertRows(parse(readFileSync(join(root, rulesFile(product)), 'utf8')));

export const README_SECTIONS: readonly ReadmeSection[] = [
  ...CONFIG_REFERENCES.map((reference) => ({
    readme: reference.readme,
    kind: 'config-reference' as const,
    name: reference.name,
    render: () => configReferenceTable(reference),
  })),
  ...PRODUCTS.map((product) => ({
    readme: `packages/${product}/README.md`,
    kind: 'alerts' as const,
    name: product,
    render: (root: string) =>
      generatedNote(
        `${rulesFile(product)}; edit the rules' summary and runbook annotations`,
        renderAlertsTable(readAlertRows(root, product)),
      ),
  })),
];

export interface ReadmeState {
  readme: string;
  current: string;
  expected: string;
}

/** Each README that holds a generated section, as it is and as this script would write it. */
export function readmeStates(root: string = REPOSITORY_ROOT): ReadmeState[] {
  const states = new Map<string, ReadmeState>();
  for (const section of README_SECTIONS) {
    let state = states.get(section.readme);
    if (state === undefined) {
      const current = readFileSync(join(root, section.readme), 'utf8');
      state = { readme: section.readme, current, expected: current };
      states.set(section.readme, state);
    }
    state.expected = replaceReadmeSection(state.expected, section.kind, section.name, section.render(root));
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
