import { setPath } from '@kvforge/common-http';
import { parse } from 'yaml';
import { LIST_CONFIG_PATHS } from './config-schema';

/**
 * Turns GunYu's `--sync.<yaml.path>=value` flags into a config layer: lists are comma-separated,
 * other values are read as YAML scalars (numbers, booleans, `{"0":1}` maps).
 */
export function configLayerFromFlags(dotted: Record<string, string>): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  for (const [flag, raw] of Object.entries(dotted)) {
    const path = flag.replace(/^sync\./, '');
    const value = LIST_CONFIG_PATHS.includes(path)
      ? raw
          .split(',')
          .filter(Boolean)
          .map((item) => (path.endsWith('dbBlacklist') ? Number(item) : item))
      : parse(raw);
    setPath(layer, path, value);
  }
  return layer;
}
