import { codeSpan, escapeCell, renderTable } from './readme-section';

/** One alert of a Prometheus rule file, as a README's "Alerts and runbook" table shows it. */
export interface AlertRow {
  alert: string;
  severity: string;
  for: string;
  summary: string;
  runbook: string;
}

type Rule = {
  alert?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
};

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Every alert of a parsed rule file in file order (recording rules are skipped). */
export function alertRows(rules: unknown): AlertRow[] {
  const groups = (rules as { groups?: { rules?: Rule[] }[] } | undefined)?.groups ?? [];
  return groups.flatMap((group) =>
    (group.rules ?? [])
      .filter((rule) => typeof rule.alert === 'string')
      .map((rule) => ({
        alert: text(rule.alert),
        severity: text(rule.labels?.severity),
        for: text(rule.for) || '0s',
        // `{{ $labels.x }}` reads as `{x}` (an HTML-like `<x>` would vanish in rendered markdown).
        summary: text(rule.annotations?.summary).replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, '{$1}'),
        runbook: text(rule.annotations?.runbook),
      })),
  );
}

export function renderAlertsTable(rows: readonly AlertRow[]): string {
  return renderTable(
    ['alert', 'severity', 'for', 'fires when', 'what to do'],
    rows.map((row) => [
      codeSpan(row.alert),
      row.severity,
      row.for,
      escapeCell(row.summary),
      escapeCell(row.runbook),
    ]),
  );
}
