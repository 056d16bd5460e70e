import { readFileSync } from 'node:fs';
import { ConfigError } from '@kvforge/common-http';

/** The original's config file (`mmc-meta.conf`, `mmc-local.conf`): one `key = value` per line, `#` comments. */
export function readKeyValueFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const values: Record<string, string> = {};
  for (const [index, rawLine] of text.split('\n').entries()) {
    const line = rawLine.replace(/#.*/, '').trim();
    if (line.length === 0) continue;
    const equals = line.indexOf('=');
    if (equals < 0) throw new ConfigError(`${path}:${index + 1}: expected "key = value"`);
    values[line.slice(0, equals).trim()] = line.slice(equals + 1).trim();
  }
  return values;
}
