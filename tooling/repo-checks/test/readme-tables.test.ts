import { describe, expect, it } from 'vitest';
import { CONFIG_REFERENCES, configReferenceTable } from '../scripts/config-reference';
import {
  PRODUCTS,
  README_SECTIONS,
  REPOSITORY_ROOT,
  readAlertRows,
  readmeStates,
} from '../scripts/readme-tables';
import { alertRows, renderAlertsTable } from '../src/alerts-runbook';
import { configReferenceRows } from '../src/config-reference';
import { REGENERATE_COMMAND } from '../src/readme-section';

describe('alertRows', () => {
  it('takes every alert of a rule file with its severity, for, summary and runbook; skips recording rules', () => {
    const rules = {
      groups: [
        {
          name: 'g',
          rules: [
            { record: 'job:x:rate5m', expr: 'rate(x[5m])' },
            {
              alert: 'Down',
              expr: 'up == 0',
              for: '1m',
              labels: { severity: 'critical' },
              annotations: { summary: '{{ $labels.instance }} | gone', runbook: 'restart it' },
            },
          ],
        },
      ],
    };
    const rows = alertRows(rules);
    expect(rows).toEqual([
      { alert: 'Down', severity: 'critical', for: '1m', summary: '{instance} | gone', runbook: 'restart it' },
    ]);
    expect(renderAlertsTable(rows).split('\n')).toEqual([
      '| alert | severity | for | fires when | what to do |',
      '| --- | --- | --- | --- | --- |',
      '| `Down` | critical | 1m | {instance} \\| gone | restart it |',
    ]);
  });
});

describe('product READMEs', () => {
  it.each(readmeStates().map((state) => [state.readme, state] as const))(
    '%s has the generated sections the schemas and rule files give',
    (readme, state) => {
      if (state.current === state.expected) return;
      const current = state.current.split('\n');
      const expected = state.expected.split('\n');
      const line = expected.findIndex((text, index) => text !== current[index]);
      throw new Error(
        `${readme}: a generated section (configuration reference or alerts) is out of date ` +
          `(first difference at line ${line + 1}: expected ${JSON.stringify(expected[line])}, ` +
          `found ${JSON.stringify(current[line])}). Run \`${REGENERATE_COMMAND}\` and commit the README.`,
      );
    },
  );

  it.each(CONFIG_REFERENCES.map((reference) => [reference.name, reference] as const))(
    '%s: every config key has a description',
    (_name, reference) => {
      const undescribed = configReferenceRows(reference.app.schema)
        .filter((row) => row.description === '')
        .map((row) => row.key);
      expect(undescribed, `add .describe() to these keys of the ${reference.name} schema`).toEqual([]);
    },
  );

  it.each(PRODUCTS)('%s: every alert has a summary and a runbook', (product) => {
    const rows = readAlertRows(REPOSITORY_ROOT, product);
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(rows.filter((row) => row.summary === '' || row.runbook === '').map((row) => row.alert)).toEqual(
      [],
    );
  });

  it('every section renders under a generated-file note naming the command', () => {
    for (const section of README_SECTIONS)
      expect(section.render(REPOSITORY_ROOT)).toContain(REGENERATE_COMMAND);
    for (const reference of CONFIG_REFERENCES) {
      const table = configReferenceTable(reference);
      expect(table.split('\n').filter((line) => line.startsWith('| `')).length).toBeGreaterThan(5);
    }
  });
});
