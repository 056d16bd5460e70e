import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  dashboardExpressions,
  metricsInExpression,
  readDashboard,
} from '../../../deploy/check/metric-references';
import { rulesProblems } from '../../../deploy/check/rules-structure';

// The metric-name check itself runs in each product's test/openapi-docs.test.ts, against the
// service it builds; here: the extraction it relies on, and the dashboards' Grafana structure.
const PRODUCTS = ['kvstore', 'gunyu-sync', 'dcache', 'memcache-hybrid'];

describe('deploy/ checks', () => {
  it('reads metric names out of PromQL, not functions, labels, ranges or by-lists', () => {
    expect(
      metricsInExpression(
        'histogram_quantile(0.99, sum by (le, route) (rate(a_seconds_bucket{status=~"5.."}[$__rate_interval]))) / on (node) b > 5e9 and up == 0',
      ).sort(),
    ).toEqual(['a_seconds_bucket', 'b']);
    expect(metricsInExpression('count(count_values("version", c_version)) > 1')).toEqual(['c_version']);
    expect(metricsInExpression('label_values(d_total, instance)')).toEqual(['d_total']);
  });

  it('rejects a malformed rule file the way promtool would', () => {
    expect(rulesProblems({ groups: [] })).toHaveLength(1);
    const problems = rulesProblems({
      groups: [
        { name: 'g', rules: [{ alert: 'A', expr: 'rate(x[5m]', for: '5 minutes', labels: { severity: 1 } }] },
        { name: 'g', rules: [{ record: 'r', alert: 'B', expr: 'x', extra: true }] },
      ],
    });
    expect(problems).toEqual([
      'group g rule 0: expr has unbalanced brackets',
      'group g rule 0: for 5 minutes is no duration',
      'group g rule 0: labels must map to strings',
      'group g rule 0: an alert needs labels.severity',
      'group g rule 0: an alert needs annotations.summary',
      'group g rule 0: an alert needs annotations.runbook',
      'group g is defined twice',
      'group g rule 0: unknown field extra',
      'group g rule 0: exactly one of alert or record, a non-empty string',
      'group g rule 0: an alert needs labels.severity',
      'group g rule 0: an alert needs annotations.summary',
      'group g rule 0: an alert needs annotations.runbook',
    ]);
  });

  it.each(PRODUCTS)(
    '%s dashboard is an importable Grafana dashboard: uid, unique panel ids, a query per panel',
    (product) => {
      const dashboard = readDashboard(product) as {
        uid: string;
        title: string;
        schemaVersion: number;
        panels: { id: number; type: string; gridPos: object; targets: { expr: string; refId: string }[] }[];
        templating: { list: { name: string; type: string }[] };
      };
      expect(dashboard.uid).toBe(`kvforge-${product}`);
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(dashboard.templating.list).toContainEqual(
        expect.objectContaining({ name: 'datasource', type: 'datasource' }),
      );
      expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
      for (const panel of dashboard.panels) {
        expect(panel.gridPos).toBeDefined();
        expect(panel.targets.length).toBeGreaterThan(0);
        expect(new Set(panel.targets.map((target) => target.refId)).size).toBe(panel.targets.length);
      }
      expect(dashboardExpressions(dashboard).every((expression) => expression.trim().length > 0)).toBe(true);
      // The rules file exists beside it (its YAML is parsed and checked in the product's tests).
      expect(
        readFileSync(new URL(`../../../deploy/prometheus/${product}-rules.yml`, import.meta.url), 'utf8'),
      ).toContain('groups:');
    },
  );
});
