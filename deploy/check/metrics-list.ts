// The "Metrics" list of a product README: generated from a running service's exposition by
// tooling/scripts/metrics-lists.mjs, and checked by each product's test against the exposition it
// scrapes (every family it exposes must be listed).
import { sectionEnd, sectionStart } from '../../tooling/repo-checks/src/readme-section';

export interface MetricFamily {
  name: string;
  type: string;
  help: string;
}

export const METRICS_SECTION = 'metrics';

/** Node's default process metrics (when enabled) are not listed one by one. */
const RUNTIME_PREFIXES = ['process_', 'nodejs_'];

/** The families of a Prometheus text exposition (from its HELP and TYPE lines), by name. */
export function metricFamilies(exposition: string): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const family = (name: string) => {
    let found = families.get(name);
    if (found === undefined) {
      found = { name, type: 'untyped', help: '' };
      families.set(name, found);
    }
    return found;
  };
  for (const line of exposition.split('\n')) {
    const help = /^# HELP ([A-Za-z_:][\w:]*) (.*)$/.exec(line);
    if (help?.[1]) family(help[1]).help = (help[2] ?? '').replace(/\\n/g, ' ').replace(/\\\\/g, '\\');
    const type = /^# TYPE ([A-Za-z_:][\w:]*) (\w+)/.exec(line);
    if (type?.[1] && type[2]) family(type[1]).type = type[2];
  }
  return [...families.values()]
    .filter((entry) => !RUNTIME_PREFIXES.some((prefix) => entry.name.startsWith(prefix)))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The text of the README's metrics section `name` (empty when it has none). */
export function metricsSection(readme: string, name: string): string {
  const start = readme.indexOf(sectionStart(METRICS_SECTION, name));
  const end = start === -1 ? -1 : readme.indexOf(sectionEnd(METRICS_SECTION), start);
  return start === -1 || end === -1 ? '' : readme.slice(start, end);
}

/** Families the exposition has that the README's metrics section `name` does not list. */
export function unlistedMetrics(readme: string, name: string, exposition: string): string[] {
  const section = metricsSection(readme, name);
  return metricFamilies(exposition)
    .map((entry) => entry.name)
    .filter((metric) => !section.includes(`| \`${metric}\` |`));
}
