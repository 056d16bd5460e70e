// A schema check of Prometheus rule files, for machines without promtool: the shape
// `promtool check rules` requires (groups → rules with alert/record + expr, durations, labels).

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w|y))+$/;
const RULE_KEYS = new Set(['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isStringMap = (value: unknown) =>
  isRecord(value) && Object.values(value).every((v) => typeof v === 'string');

/** Problems found in a parsed rule file; empty when promtool would accept its structure. */
export function rulesProblems(rules: unknown): string[] {
  const problems: string[] = [];
  if (!isRecord(rules) || !Array.isArray(rules.groups) || rules.groups.length === 0)
    return ['the file must be an object with a non-empty groups list'];
  const groupNames = new Set<string>();
  for (const [index, group] of rules.groups.entries()) {
    if (!isRecord(group) || typeof group.name !== 'string' || group.name === '') {
      problems.push(`groups[${index}] needs a name`);
      continue;
    }
    if (groupNames.has(group.name)) problems.push(`group ${group.name} is defined twice`);
    groupNames.add(group.name);
    if (group.interval !== undefined && !DURATION.test(String(group.interval)))
      problems.push(`group ${group.name}: interval ${String(group.interval)} is no duration`);
    if (!Array.isArray(group.rules) || group.rules.length === 0) {
      problems.push(`group ${group.name} has no rules`);
      continue;
    }
    for (const [ruleIndex, rule] of group.rules.entries()) {
      const where = `group ${group.name} rule ${ruleIndex}`;
      if (!isRecord(rule)) {
        problems.push(`${where} is not an object`);
        continue;
      }
      for (const key of Object.keys(rule))
        if (!RULE_KEYS.has(key)) problems.push(`${where}: unknown field ${key}`);
      const named = typeof rule.alert === 'string' ? rule.alert : rule.record;
      if (
        (rule.alert === undefined) === (rule.record === undefined) ||
        typeof named !== 'string' ||
        named === ''
      )
        problems.push(`${where}: exactly one of alert or record, a non-empty string`);
      if (typeof rule.expr !== 'string' || rule.expr.trim() === '')
        problems.push(`${where}: expr must be a string`);
      else if (!balanced(rule.expr)) problems.push(`${where}: expr has unbalanced brackets`);
      for (const key of ['for', 'keep_firing_for'])
        if (rule[key] !== undefined && !DURATION.test(String(rule[key])))
          problems.push(`${where}: ${key} ${String(rule[key])} is no duration`);
      for (const key of ['labels', 'annotations'])
        if (rule[key] !== undefined && !isStringMap(rule[key]))
          problems.push(`${where}: ${key} must map to strings`);
      if (rule.alert !== undefined && !(isRecord(rule.labels) && typeof rule.labels.severity === 'string'))
        problems.push(`${where}: an alert needs labels.severity`);
      // summary: what fires; runbook: what the operator does (the README's alert tables are made of both).
      for (const annotation of ['summary', 'runbook'])
        if (
          rule.alert !== undefined &&
          !(isRecord(rule.annotations) && typeof rule.annotations[annotation] === 'string')
        )
          problems.push(`${where}: an alert needs annotations.${annotation}`);
    }
  }
  return problems;
}

/** The expr of every rule of a (structurally valid) rule file. */
export function ruleExpressions(rules: unknown): string[] {
  if (!isRecord(rules) || !Array.isArray(rules.groups)) return [];
  return rules.groups.flatMap((group) =>
    isRecord(group) && Array.isArray(group.rules)
      ? group.rules.flatMap((rule) => (isRecord(rule) && typeof rule.expr === 'string' ? [rule.expr] : []))
      : [],
  );
}

function balanced(expression: string): boolean {
  const open: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const char of expression.replace(/"(?:[^"\\]|\\.)*"/g, '')) {
    if (char === '(' || char === '[' || char === '{') open.push(char);
    else if (char in pairs && open.pop() !== pairs[char]) return false;
  }
  return open.length === 0;
}
