import { readFileSync } from 'node:fs';
import { ConfigError } from '@kvforge/common-http';
import { z } from 'zod';

/** The original's `ock.mmc.*` keys (meta service), plus ours marked "kvforge". */
export const metaServiceConfigSchema = z
  .object({
    'ock.mmc.meta_service_url': z
      .string()
      .regex(/^tcp:\/\/[^:]+:\d+$/, 'must be tcp://HOST:PORT')
      .default('tcp://127.0.0.1:5000'),
    'ock.mmc.meta_service.metrics_url': z.string().default('http://127.0.0.1:8000'),
    'ock.mmc.evict_threshold_high': z.coerce.number().int().min(1).max(99).default(90),
    'ock.mmc.evict_threshold_low': z.coerce.number().int().min(0).max(98).default(80),
    'ock.mmc.log_level': z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    // kvforge additions
    'ock.mmc.lease_ms': z.coerce.number().int().positive().default(2000),
    'ock.mmc.allocated_timeout_ms': z.coerce.number().int().min(0).default(30_000),
    'ock.mmc.ptracer.enable': z.stringbool().default(true),
    'ock.mmc.rpc.max_frame_bytes': z.coerce
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024),
    /** The /metadata file (atomic rename + fsync); empty = in memory only. */
    'ock.mmc.meta_service.metadata_path': z.string().default(''),
    /** Segments to mount at start, `rank:HBM|DRAM:size` (demo and tests; local services mount over RPC). */
    'ock.mmc.mount': z.string().default(''),
  })
  .strict()
  .refine((config) => config['ock.mmc.evict_threshold_low'] < config['ock.mmc.evict_threshold_high'], {
    message: 'ock.mmc.evict_threshold_low must be below ock.mmc.evict_threshold_high',
    path: ['ock.mmc.evict_threshold_low'],
  });

export type MetaServiceConfig = z.infer<typeof metaServiceConfigSchema>;

/** The original's config file: one `key = value` per line, `#` comments. */
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

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/** `2048KB`, `200mb`, `2.5GB`, `1TB` like the original's size syntax. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?B?)$/i.exec(text.trim());
  const unit = match ? SIZE_UNITS[(match[2] ?? '').toUpperCase()] : undefined;
  if (!match || unit === undefined) throw new ConfigError(`invalid size "${text}"`);
  return Math.floor(Number(match[1]) * unit);
}

export function parseMounts(text: string): { rank: number; medium: 'HBM' | 'DRAM'; bytes: number }[] {
  if (text.trim() === '') return [];
  return text.split(',').map((entry) => {
    const [rank, medium, size] = entry.split(':');
    const upper = (medium ?? '').toUpperCase();
    if (!/^\d+$/.test(rank ?? '') || (upper !== 'HBM' && upper !== 'DRAM') || !size) {
      throw new ConfigError(`ock.mmc.mount: invalid entry "${entry}" (expected rank:HBM|DRAM:size)`);
    }
    return { rank: Number(rank), medium: upper, bytes: parseSize(size) };
  });
}
