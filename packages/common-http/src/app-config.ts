import type { z } from 'zod';
import {
  CommandLineError,
  type CommandLineSpec,
  convertFlagValue,
  type FlagDefinition,
  parseCommandLine,
} from './command-line';
import { ConfigError, loadConfig, readConfigFile } from './config';
import { environmentName, kebabCase, type SchemaField, schemaFields } from './schema-fields';

/** Per-field cosmetics and overrides; the field itself (type, default, help text) lives in the schema. */
export interface AppConfigFieldOptions {
  short?: string;
  valueName?: string;
  /** Another flag name, or false for none (file and env only). */
  flag?: string | false;
  /** Another environment name, or false for none. */
  env?: string | false;
  /** What help shows as the default when the schema has none, e.g. "the --listen address". */
  defaultText?: string;
}

export interface AppConfigFileOptions {
  flag: string;
  aliases?: readonly string[];
  short?: string;
  /** An environment variable naming the file when no flag does (e.g. `MMC_META_CONFIG_PATH`). */
  env?: string;
  /** Reads the file into a config layer; JSON or YAML by default. */
  read?: (path: string) => unknown;
}

export interface AppConfigSpec<Schema extends z.ZodObject> {
  name: string;
  usage: string;
  description?: string;
  schema: Schema;
  /** `DCACHE` makes `nodeId` read `DCACHE_NODE_ID`; '' uses no prefix; absent: no environment at all. */
  envPrefix?: string;
  /** kebab (default): `nodeId` → `--node-id`; path: `--<flagPrefix><key.path>` with the keys as written. */
  flagStyle?: 'kebab' | 'path';
  flagPrefix?: string;
  /** Keyed by the field's keys joined with '.', e.g. `nodeId` or `server.listen`. */
  fields?: Readonly<Record<string, AppConfigFieldOptions>>;
  configFile?: AppConfigFileOptions;
}

export type LoadedAppConfig<Schema extends z.ZodObject> =
  | { help: string; config?: undefined }
  | { help?: undefined; config: z.infer<Schema> };

interface BoundField extends SchemaField {
  flag?: string;
  env?: string;
}

function bindFields<Schema extends z.ZodObject>(spec: AppConfigSpec<Schema>): BoundField[] {
  return schemaFields(spec.schema).map((field) => {
    const options = spec.fields?.[field.path.join('.')] ?? {};
    const naturalFlag =
      spec.flagStyle === 'path'
        ? `${spec.flagPrefix ?? ''}${field.path.join('.')}`
        : field.path.map(kebabCase).join('.');
    const flag = options.flag === false ? undefined : (options.flag ?? naturalFlag);
    const naturalEnv = spec.envPrefix === undefined ? undefined : environmentName(spec.envPrefix, field.path);
    const env = options.env === false ? undefined : (options.env ?? naturalEnv);
    return { ...field, flag, env };
  });
}

function helpDefault(field: BoundField, options: AppConfigFieldOptions | undefined): string | undefined {
  if (options?.defaultText !== undefined) return options.defaultText;
  const value = field.defaultValue;
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.join(',');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function commandLineSpec<Schema extends z.ZodObject>(
  spec: AppConfigSpec<Schema>,
  fields: readonly BoundField[],
): CommandLineSpec {
  const flags: Record<string, FlagDefinition> = {};
  for (const field of fields) {
    if (field.flag === undefined) continue;
    const options = spec.fields?.[field.path.join('.')];
    const environment = field.env === undefined ? '' : ` [env ${field.env}]`;
    const fallback = helpDefault(field, options);
    flags[field.flag] = {
      type: field.type,
      description: `${field.description ?? field.path.join('.')}${environment}`,
      ...(fallback === undefined ? {} : { default: fallback }),
      ...(options?.valueName === undefined ? {} : { valueName: options.valueName }),
      ...(options?.short === undefined ? {} : { short: options.short }),
    };
  }
  const file = spec.configFile;
  if (file) {
    const fileEnvironment = file.env === undefined ? '' : ` [env ${file.env}]`;
    const fileFlag: FlagDefinition = {
      type: 'string',
      description: `Config file (same keys as the schema); file < env < flags${fileEnvironment}`,
      valueName: 'FILE',
    };
    flags[file.flag] = { ...fileFlag, ...(file.short === undefined ? {} : { short: file.short }) };
    for (const alias of file.aliases ?? [])
      flags[alias] = { ...fileFlag, description: `Same as --${file.flag}` };
  }
  return {
    name: spec.name,
    usage: spec.usage,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    flags,
  };
}

function setAt(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cursor = target;
  for (const key of path.slice(0, -1)) {
    const next = cursor[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cursor[key] = {};
    cursor = cursor[key] as Record<string, unknown>;
  }
  cursor[path[path.length - 1]!] = value;
}

/** Converts an environment string the way the matching flag would be converted. */
function environmentValue(field: BoundField, raw: string): unknown {
  try {
    return convertFlagValue(field.env ?? '', field.type, raw);
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/**
 * An app's configuration from one zod schema: flags, environment names and `--help` are derived
 * from its fields, so each field is written once. Layers: config file < environment < flags.
 */
export function loadAppConfig<Schema extends z.ZodObject>(
  spec: AppConfigSpec<Schema>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): LoadedAppConfig<Schema> {
  const fields = bindFields(spec);
  const commandLine = parseCommandLine(argv, commandLineSpec(spec, fields));
  if (commandLine.helpRequested) return { help: commandLine.help };
  if (commandLine.positionals.length > 0) {
    throw new CommandLineError(`unexpected argument "${commandLine.positionals[0]}" (see --help)`);
  }

  const file = spec.configFile;
  const flagPath = file
    ? [file.flag, ...(file.aliases ?? [])]
        .map((name) => commandLine.values[name])
        .find((v) => v !== undefined)
    : undefined;
  const filePath = flagPath ?? (file?.env === undefined ? undefined : env[file.env] || undefined);
  const fileLayer = typeof filePath === 'string' ? (file?.read ?? readConfigFile)(filePath) : {};

  const environmentLayer: Record<string, unknown> = {};
  const flagLayer: Record<string, unknown> = {};
  for (const field of fields) {
    const raw = field.env === undefined ? undefined : env[field.env];
    if (raw !== undefined && raw !== '') setAt(environmentLayer, field.path, environmentValue(field, raw));
    const flagValue = field.flag === undefined ? undefined : commandLine.values[field.flag];
    if (flagValue !== undefined) setAt(flagLayer, field.path, flagValue);
  }
  return { config: loadConfig(spec.schema, [fileLayer, environmentLayer, flagLayer]) };
}
