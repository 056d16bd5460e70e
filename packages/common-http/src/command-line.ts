export type FlagType = 'string' | 'number' | 'boolean' | 'list';

export interface FlagDefinition {
  type: FlagType;
  description: string;
  /** Shown in the help text; parsing leaves absent flags undefined so config layers can merge. */
  default?: string | number | boolean;
  /** Placeholder in the help text, e.g. `DIR`. */
  valueName?: string;
  short?: string;
}

export interface CommandLineSpec {
  name: string;
  usage: string;
  description?: string;
  flags: Record<string, FlagDefinition>;
  /** Dotted flags with these prefixes (e.g. `sync.` for `--sync.input.redis.addresses=…`) are collected, not rejected. */
  dottedPrefixes?: readonly string[];
}

export type FlagValue = string | number | boolean | string[];

export interface ParsedCommandLine {
  values: Record<string, FlagValue | undefined>;
  /** `--prefix.a.b=value` flags, keyed by the path after nothing is stripped (`sync.a.b`). */
  dotted: Record<string, string>;
  positionals: string[];
  helpRequested: boolean;
  help: string;
}

/** A bad flag: apps print the message and exit with code 2. */
export class CommandLineError extends Error {
  readonly code = 'COMMON_ERR_COMMAND_LINE';
  constructor(message: string) {
    super(message);
    this.name = 'CommandLineError';
  }
}

export function formatHelp(spec: CommandLineSpec): string {
  const lines = [`Usage: ${spec.usage}`, ''];
  if (spec.description) lines.push(spec.description, '');
  lines.push('Options:');
  const entries = Object.entries(spec.flags).map(([name, flag]) => {
    const value =
      flag.type === 'boolean'
        ? ''
        : ` ${flag.valueName ?? (flag.type === 'list' ? 'A,B' : flag.type === 'number' ? 'N' : 'VALUE')}`;
    const short = flag.short ? `-${flag.short}, ` : '';
    const fallback = flag.default === undefined ? '' : ` (default: ${String(flag.default)})`;
    return [`  ${short}--${name}${value}`, `${flag.description}${fallback}`] as const;
  });
  entries.push(['  -h, --help', 'Show this help and exit']);
  const width = Math.max(...entries.map(([left]) => left.length)) + 2;
  for (const [left, right] of entries) lines.push(left.padEnd(width) + right);
  return `${lines.join('\n')}\n`;
}

/** Converts one raw string by flag type; `label` names its source in errors (`--port`, `APP_PORT`). */
export function convertFlagValue(label: string, type: FlagType, raw: string): FlagValue {
  switch (type) {
    case 'string':
      return raw;
    case 'number': {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) {
        throw new CommandLineError(`${label} expects a number, got "${raw}"`);
      }
      return value;
    }
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(raw)) return true;
      if (/^(false|0|no|off)$/i.test(raw)) return false;
      throw new CommandLineError(`${label} expects true or false, got "${raw}"`);
    case 'list':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0);
  }
}

/** Parses `--flag value`, `--flag=value`, `-s value`, boolean `--flag`/`--no-flag`; unknown flags throw. */
export function parseCommandLine(argv: readonly string[], spec: CommandLineSpec): ParsedCommandLine {
  const values: Record<string, FlagValue | undefined> = {};
  const dotted: Record<string, string> = {};
  const positionals: string[] = [];
  const byShort = new Map(
    Object.entries(spec.flags).flatMap(([name, flag]) => (flag.short ? [[flag.short, name]] : [])),
  );
  let helpRequested = false;

  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === '--') {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (argument === '--help' || argument === '-h') {
      helpRequested = true;
      continue;
    }
    if (!argument.startsWith('-') || argument === '-') {
      positionals.push(argument);
      continue;
    }
    const body = argument.startsWith('--') ? argument.slice(2) : argument.slice(1);
    const equals = body.indexOf('=');
    let name = equals >= 0 ? body.slice(0, equals) : body;
    let inline = equals >= 0 ? body.slice(equals + 1) : undefined;
    if (!argument.startsWith('--')) name = byShort.get(name) ?? `-${name}`;

    if (spec.dottedPrefixes?.some((prefix) => name.startsWith(prefix))) {
      const value = inline ?? argv[++index];
      if (value === undefined) throw new CommandLineError(`--${name} needs a value`);
      dotted[name] = value;
      continue;
    }
    let flag = spec.flags[name];
    if (!flag && name.startsWith('no-') && spec.flags[name.slice(3)]?.type === 'boolean') {
      name = name.slice(3);
      flag = spec.flags[name];
      inline = 'false';
    }
    if (!flag) throw new CommandLineError(`unknown option --${name} (see --help)`);
    if (flag.type === 'boolean' && inline === undefined) {
      values[name] = true;
      continue;
    }
    const raw = inline ?? argv[++index];
    if (raw === undefined) throw new CommandLineError(`--${name} needs a value`);
    values[name] = convertFlagValue(`--${name}`, flag.type, raw);
  }
  return { values, dotted, positionals, helpRequested, help: formatHelp(spec) };
}
