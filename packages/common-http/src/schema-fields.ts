import type { z } from 'zod';
import type { FlagType } from './command-line';
import { zodDefinitionOf } from './zod-definition';

/** One leaf of a config schema: where it sits, how a string becomes its value, what help says. */
export interface SchemaField {
  /** Keys from the root, e.g. `['server', 'listen']`; a key may itself contain dots (`ock.mmc.lease_ms`). */
  path: string[];
  type: FlagType;
  description?: string;
  defaultValue?: unknown;
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional']);

interface Unwrapped {
  base: z.ZodType;
  description?: string;
  defaultValue?: unknown;
}

/** Peels default/optional/… wrappers, keeping the outermost description and default. */
function unwrap(schema: z.ZodType): Unwrapped {
  let current = schema;
  let description = schema.description;
  let defaultValue: unknown;
  for (;;) {
    const definition = zodDefinitionOf(current);
    if (definition.type === 'default' && defaultValue === undefined) defaultValue = definition.defaultValue;
    if (!WRAPPERS.has(definition.type) || !definition.innerType) break;
    current = definition.innerType;
    description ??= current.description;
  }
  return { base: current, description, defaultValue };
}

/** How a flag or environment string converts: by the type the schema accepts as input. */
function flagTypeOf(base: z.ZodType): FlagType {
  const definition = zodDefinitionOf(base);
  switch (definition.type) {
    case 'number':
    case 'int':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return 'list';
    case 'pipe':
      // z.stringbool() and friends take a string and convert it themselves.
      return definition.in ? flagTypeOf(unwrap(definition.in).base) : 'string';
    default:
      return 'string';
  }
}

/** Every leaf of an object schema, depth first in declaration order; nested objects recurse. */
export function schemaFields(schema: z.ZodType, path: string[] = []): SchemaField[] {
  const { base, description, defaultValue } = unwrap(schema);
  const definition = zodDefinitionOf(base);
  if (definition.type === 'object' && definition.shape) {
    return Object.entries(definition.shape).flatMap(([key, child]) => schemaFields(child, [...path, key]));
  }
  return [{ path, type: flagTypeOf(base), description, defaultValue: defaultValueAt(defaultValue) }];
}

function defaultValueAt(value: unknown): unknown {
  return typeof value === 'function' ? undefined : value;
}

/** `nodeId` → `node-id`; `ock.mmc.lease_ms` stays as written when the style is `path`. */
export function kebabCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** `['server', 'listenAddress']` with prefix `APP` → `APP_SERVER_LISTEN_ADDRESS`. */
export function environmentName(prefix: string, path: readonly string[]): string {
  const body = path
    .map((key) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2'))
    .join('_')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
  return prefix === '' ? body : `${prefix}_${body}`;
}
