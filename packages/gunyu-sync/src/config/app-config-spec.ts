import type { AppConfigSpec } from '@kvforge/common-http';
import { gunyuConfigSchema } from './config-schema';

/**
 * How the gunyu-sync binary reads its config, derived from gunyuConfigSchema by loadAppConfig: every
 * key is a flag `--sync.<yaml.path>=value` (GunYu's own spelling; lists comma-separated) and an
 * environment variable `GUNYU_<PATH>` (e.g. GUNYU_INPUT_REDIS_PASSWORD, so secrets need not be in
 * argv or the file); `-conf FILE` (or --config) reads GunYu's YAML. Layers: file < env < flags.
 */
export const GUNYU_APP_CONFIG: AppConfigSpec<typeof gunyuConfigSchema> = {
  name: 'gunyu-sync',
  usage: 'gunyu-sync -conf FILE [--sync.<yaml.path>=value ...]',
  description:
    'gunyu-sync: real-time Redis → Redis replication (PSYNC, RDB, command stream), resumable from\n' +
    "checkpoints in the target, with an ops HTTP API on server.listen. Config keys are redis-GunYu's;\n" +
    'any key can be given as --sync.<path>=value (lists comma-separated), e.g.\n' +
    '--sync.input.redis.addresses=127.0.0.1:6379 --sync.output.redis.addresses=127.0.0.1:6380',
  schema: gunyuConfigSchema,
  envPrefix: 'GUNYU',
  flagStyle: 'path',
  flagPrefix: 'sync.',
  configFile: { flag: 'conf', aliases: ['config'], short: 'conf' },
};
