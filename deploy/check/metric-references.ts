// Shared by the products' route/metrics tests (imported relatively: deploy/ is no package).
// It names the metrics that deploy/'s dashboards and alert rules use, so a test can compare
// them with what the running service really exposes.
import { readFileSync } from 'node:fs';
import { ruleExpressions } from './rules-structure';

export const DEPLOY_DIRECTORY = new URL('..', import.meta.url).pathname;

/** Series Prometheus itself adds to every target: a rule may use them without the service exposing them. */
const SCRAPE_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2']);

/** Metric names in a PromQL expression (label matchers, ranges, strings and `by (…)` lists removed). */
export function metricsInExpression(expression: string): string[] {
  const stripped = expression
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/label_values\(\s*([A-Za-z_:][\w:]*)[^)]*\)/g, ' $1 ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w$.])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (name && !call && !PROMQL_WORDS.has(name.toLowerCase()) && !SCRAPE_SERIES.has(name)) names.add(name);
  }
  return [...names];
}

/**
 * Every metric the product's dashboard and its rules (parsed by the caller: deploy/ has no YAML
 * parser of its own) reference.
 */
export function referencedMetrics(product: string, rules: unknown): Set<string> {
  const names = new Set<string>();
  const expressions = [...dashboardExpressions(readDashboard(product)), ...ruleExpressions(rules)];
  for (const expression of expressions) for (const name of metricsInExpression(expression)) names.add(name);
  return names;
}

/** The names a Prometheus text exposition defines: TYPE/HELP lines, samples, histogram and summary parts. */
export function exposedMetrics(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const typed = /^# (?:TYPE|HELP) ([A-Za-z_:][\w:]*)(?: (\w+))?/.exec(line);
    if (typed?.[1]) {
      names.add(typed[1]);
      if (typed[2] === 'histogram')
        for (const part of ['_bucket', '_sum', '_count']) names.add(typed[1] + part);
      if (typed[2] === 'summary') for (const part of ['_sum', '_count']) names.add(typed[1] + part);
      continue;
    }
    const sample = /^([A-Za-z_:][\w:]*)[{ ]/.exec(line);
    if (sample?.[1]) names.add(sample[1]);
  }
  return names;
}

export function readDashboard(product: string): unknown {
  return JSON.parse(readFileSync(`${DEPLOY_DIRECTORY}grafana/${product}.json`, 'utf8'));
}

export const rulesPath = (product: string) => `${DEPLOY_DIRECTORY}prometheus/${product}-rules.yml`;

interface Panel {
  panels?: Panel[];
  targets?: { expr?: unknown }[];
}

/** The PromQL of every panel target (rows' nested panels too) and every query variable. */
export function dashboardExpressions(dashboard: unknown): string[] {
  const expressions: string[] = [];
  const visit = (panels: Panel[] | undefined) => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? [])
        if (typeof target.expr === 'string') expressions.push(target.expr);
      visit(panel.panels);
    }
  };
  const root = dashboard as Panel & { templating?: { list?: { type?: string; query?: unknown }[] } };
  visit(root.panels);
  for (const variable of root.templating?.list ?? []) {
    if (variable.type === 'query' && typeof variable.query === 'string') expressions.push(variable.query);
  }
  return expressions;
}
