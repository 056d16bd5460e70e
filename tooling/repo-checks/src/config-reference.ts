import { type ZodCheckDefinition, type ZodDefinition, zodDefinitionOf } from '@kvforge/common-http';
import type { z } from 'zod';
import { codeSpan, escapeCell, renderTable, replaceReadmeSection } from './readme-section';

/** One row of a README's "Configuration reference" table: a leaf of a config schema. */
export interface ConfigReferenceRow {
  /** Keys from the root joined with '.', e.g. `output.replay.batchCmdCount` (a key may hold dots itself). */
  key: string;
  type: string;
  /** Markdown: a code span with the value, `required`, `optional` or a hand-written text. */
  default: string;
  description: string;
}

export interface ConfigReferenceOptions {
  /** Default texts by key, for defaults a table cannot show as a value (machine-dependent, or cosmetic). */
  defaultText?: Readonly<Record<string, string>>;
}

/** What a field is once default/optional/pipe wrappers are peeled off. */
interface PeeledField {
  base: z.ZodType;
  description?: string;
  hasDefault: boolean;
  defaultValue?: unknown;
  optional: boolean;
}

const PASS_THROUGH = new Set(['nullable', 'readonly', 'catch', 'nonoptional']);

function peel(schema: z.ZodType): PeeledField {
  const field: PeeledField = { base: schema, hasDefault: false, optional: false };
  let current = schema;
  for (;;) {
    // The outermost description wins, as it does for `--help`.
    field.description ??= current.description;
    const definition = zodDefinitionOf(current);
    let next: z.ZodType | undefined;
    if ((definition.type === 'default' || definition.type === 'prefault') && definition.innerType) {
      if (!field.hasDefault) {
        field.hasDefault = true;
        field.defaultValue = definition.defaultValue;
      }
      next = definition.innerType;
    } else if (definition.type === 'optional') {
      field.optional = true;
      next = definition.innerType;
    } else if (PASS_THROUGH.has(definition.type)) {
      next = definition.innerType;
    } else if (definition.type === 'pipe' && definition.in && definition.out) {
      // `.transform()` says nothing about what is accepted: read its input. `z.preprocess` and codecs
      // such as `z.stringbool()` end in the type the value becomes: read their output.
      next = zodDefinitionOf(definition.out).type === 'transform' ? definition.in : definition.out;
    } else if (definition.type === 'lazy' && definition.getter) {
      next = definition.getter();
    }
    if (next === undefined) break;
    current = next;
  }
  field.base = current;
  return field;
}

/** An integer above 0 is one of at least 1: the closed form reads better in a table. */
function inclusiveForIntegers(
  bound: ZodCheckDefinition | undefined,
  integer: boolean,
  step: 1 | -1,
): ZodCheckDefinition | undefined {
  if (bound?.value === undefined || bound.inclusive || !integer) return bound;
  return { ...bound, value: bound.value + step, inclusive: true };
}

function numberType(definition: ZodDefinition, withBounds: boolean): string {
  const checks = (definition.checks ?? []).map((check) => check._zod.def);
  const integer = checks.some((check) => check.format === 'safeint' || check.format === 'int32');
  const name = integer ? 'integer' : 'number';
  if (!withBounds) return name;
  const lower = inclusiveForIntegers(
    checks.find((check) => check.check === 'greater_than'),
    integer,
    1,
  );
  const upper = inclusiveForIntegers(
    checks.find((check) => check.check === 'less_than'),
    integer,
    -1,
  );
  if (lower?.inclusive && upper?.inclusive) return `${name} ${lower.value}–${upper.value}`;
  const bounds = [
    lower === undefined ? '' : `${lower.inclusive ? '≥' : '>'} ${lower.value}`,
    upper === undefined ? '' : `${upper.inclusive ? '≤' : '<'} ${upper.value}`,
  ].filter((bound) => bound !== '');
  return [name, ...bounds].join(' ');
}

/** A short type text; `withBounds` adds number ranges, which only the outermost type shows. */
function typeName(schema: z.ZodType, withBounds: boolean): string {
  const { base } = peel(schema);
  const definition = zodDefinitionOf(base);
  switch (definition.type) {
    case 'string':
      return definition.format === undefined || definition.format === 'regex' ? 'string' : definition.format;
    case 'number':
      return numberType(definition, withBounds);
    case 'enum':
      return Object.values(definition.entries ?? {})
        .map((value) => JSON.stringify(value))
        .join(' | ');
    case 'literal':
      return (definition.values ?? []).map((value) => JSON.stringify(value)).join(' | ');
    case 'array': {
      const element = definition.element ? typeName(definition.element, false) : 'unknown';
      return element.includes(' ') ? `(${element})[]` : `${element}[]`;
    }
    case 'union':
      return (definition.options ?? []).map((option) => typeName(option, false)).join(' | ');
    case 'record': {
      const key = definition.keyType ? typeName(definition.keyType, false) : 'string';
      const value = definition.valueType ? typeName(definition.valueType, false) : 'unknown';
      return `record<${key}, ${value}>`;
    }
    default:
      return definition.type;
  }
}

function defaultCell(field: PeeledField, inherited: { present: boolean; value?: unknown }): string {
  const present = field.hasDefault || inherited.present;
  if (!present) return field.optional ? 'optional' : 'required';
  const value = field.hasDefault ? field.defaultValue : inherited.value;
  if (typeof value === 'string') return value === '' ? '`""`' : codeSpan(value);
  return codeSpan(JSON.stringify(value) ?? String(value));
}

function collectRows(
  schema: z.ZodType,
  path: readonly string[],
  inherited: { present: boolean; value?: unknown },
  options: ConfigReferenceOptions,
  rows: ConfigReferenceRow[],
): void {
  const field = peel(schema);
  const definition = zodDefinitionOf(field.base);
  if (definition.type === 'object' && definition.shape) {
    // A default on the object itself supplies its fields' values where they have none of their own.
    const objectDefault = field.hasDefault ? field.defaultValue : inherited.value;
    for (const [key, child] of Object.entries(definition.shape)) {
      const holder = objectDefault as Record<string, unknown> | undefined;
      const childInherited =
        holder !== null && typeof holder === 'object' && key in holder
          ? { present: true, value: holder[key] }
          : { present: false };
      collectRows(child, [...path, key], childInherited, options, rows);
    }
    return;
  }
  const key = path.join('.');
  rows.push({
    key,
    type: typeName(schema, true),
    default: options.defaultText?.[key] ?? defaultCell(field, inherited),
    description: field.description ?? '',
  });
}

/** Every leaf of a config schema in declaration order; nested objects become dotted keys. */
export function configReferenceRows(
  schema: z.ZodType,
  options: ConfigReferenceOptions = {},
): ConfigReferenceRow[] {
  const rows: ConfigReferenceRow[] = [];
  collectRows(schema, [], { present: false }, options, rows);
  return rows;
}

/** A markdown table of the rows; one line per row, unpadded, so a changed field changes one line. */
export function renderConfigReferenceTable(rows: readonly ConfigReferenceRow[]): string {
  return renderTable(
    ['key', 'type', 'default', 'description'],
    rows.map((row) => [codeSpan(row.key), codeSpan(row.type), row.default, escapeCell(row.description)]),
  );
}

/** The README with the named config reference's table replaced by `table`. */
export function replaceConfigReference(readme: string, name: string, table: string): string {
  return replaceReadmeSection(readme, 'config-reference', name, table);
}
