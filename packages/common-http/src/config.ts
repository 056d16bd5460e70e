import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** Invalid configuration: the message names every bad or unknown field; apps exit 2 before listening. */
export class ConfigError extends Error {
  readonly code = 'COMMON_ERR_CONFIG';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

type PlainObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Later layers win; nested objects merge; arrays and scalars replace; undefined never overrides. */
export function mergeConfigLayers(layers: readonly unknown[]): PlainObject {
  const merged: PlainObject = {};
  const mergeInto = (target: PlainObject, source: PlainObject): void => {
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined) continue;
      const existing = target[key];
      if (isPlainObject(value) && isPlainObject(existing)) mergeInto(existing, value);
      else if (isPlainObject(value)) {
        const copy: PlainObject = {};
        mergeInto(copy, value);
        target[key] = copy;
      } else target[key] = value;
    }
  };
  for (const layer of layers) if (isPlainObject(layer)) mergeInto(merged, layer);
  return merged;
}

/** Sets `a.b.c` in a nested object, creating the objects on the way. */
export function setPath(target: PlainObject, path: string, value: unknown): void {
  const parts = path.split('.');
  let cursor = target;
  for (const part of parts.slice(0, -1)) {
    if (part === '__proto__' || part === 'constructor' || part === 'prototype') {
      throw new ConfigError(`invalid config path "${path}"`);
    }
    const next = cursor[part];
    if (!isPlainObject(next)) cursor[part] = {};
    cursor = cursor[part] as PlainObject;
  }
  cursor[parts[parts.length - 1]!] = value;
}

/** Merges the layers (file < env < flags) and validates them; unknown keys fail when the schema is strict. */
export function loadConfig<Schema extends z.ZodType>(
  schema: Schema,
  layers: readonly unknown[],
): z.infer<Schema> {
  const result = schema.safeParse(mergeConfigLayers(layers));
  if (!result.success) {
    throw new ConfigError(`invalid configuration:\n${z.prettifyError(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/** Reads a JSON or YAML config file (by extension; YAML is a superset of JSON otherwise). */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`cannot parse config file ${path}: ${(error as Error).message}`, { cause: error });
  }
}
