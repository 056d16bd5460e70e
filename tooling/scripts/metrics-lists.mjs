#!/usr/bin/env node
// Rewrites the "Metrics" list of each product README from what its services really expose: starts
// every HTTP service from source (free ports, real Redis; see http-services.mjs), scrapes its metrics
// route and writes the families (name, type, help) between the README's `metrics` markers.
// Each product's test/openapi-docs.test.ts fails when its service exposes a family the list lacks.
// Usage: pnpm docs:metrics
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpServices, root, withSourceLoader } from './http-services.mjs';

withSourceLoader(import.meta.url);

const { metricFamilies } = await import(join(root, 'deploy/check/metrics-list.ts'));
const { codeSpan, escapeCell, generatedNote, renderTable, replaceReadmeSection } = await import(
  join(root, 'tooling/repo-checks/src/readme-section.ts')
);

/** Where each service's list goes and where it serves its metrics. */
const TARGETS = {
  'kvstore-config-server': { readme: 'packages/kvstore/README.md', path: '/metrics' },
  'kvstore-proxy': { readme: 'packages/kvstore/README.md', path: '/metrics' },
  'gunyu-sync': { readme: 'packages/gunyu-sync/README.md', path: '/prometheus' },
  dcache: { readme: 'packages/dcache/README.md', path: '/metrics' },
  'memcache-meta-service': { readme: 'packages/memcache-hybrid/README.md', path: '/metrics' },
};

const { services, removeTemporaryDirectories } = await httpServices();
let failed = false;
try {
  for (const service of services) {
    const target = TARGETS[service.name];
    if (target === undefined) continue;
    const running = await service.start();
    try {
      const exposition = await (await fetch(`${running.origin}${target.path}`)).text();
      const families = metricFamilies(exposition);
      const table = renderTable(
        ['metric', 'type', 'help'],
        families.map((family) => [codeSpan(family.name), family.type, escapeCell(family.help)]),
      );
      const file = join(root, target.readme);
      const before = readFileSync(file, 'utf8');
      const content = generatedNote(
        `GET ${target.path} of a running ${service.name}`,
        table,
        'pnpm docs:metrics',
      );
      const after = replaceReadmeSection(before, 'metrics', service.name, content);
      if (after !== before) writeFileSync(file, after);
      console.log(
        `  ${after === before ? 'unchanged' : 'rewrote  '} ${service.name.padEnd(24)} ${families.length} metrics`,
      );
    } catch (error) {
      failed = true;
      console.log(`  ✗ ${service.name}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await running.stop();
    }
  }
} finally {
  removeTemporaryDirectories();
}
process.exit(failed ? 1 : 0);
