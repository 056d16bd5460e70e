import type { Logger } from '@kvforge/runtime';
import type { RedisProcess } from '@kvforge/testing';
import { DEFAULT_FILTER_OPTIONS } from '../src/core/command-filter';
import { DEFAULT_REPLAY_OPTIONS, type ReplayOptions } from '../src/core/replay-options';
import { Syncer, type SyncerOptions } from '../src/syncer';

export function syncerFor(
  source: RedisProcess,
  target: RedisProcess,
  overrides: Partial<Omit<SyncerOptions, 'replay'>> & { replay?: Partial<ReplayOptions> } = {},
  logger?: Logger,
): Syncer {
  const { replay, ...rest } = overrides;
  return new Syncer(
    {
      inputAddress: source.address,
      input: { host: source.host, port: source.port, password: source.password },
      output: { host: target.host, port: target.port, password: target.password },
      listeningPort: 18001,
      replay: { ...DEFAULT_REPLAY_OPTIONS, replayRdbParallel: 4, ...replay },
      filter: DEFAULT_FILTER_OPTIONS,
      syncDelayTestKey: '',
      reconnectBackoffMs: 200,
      capaEof: true,
      transaction: true,
      ...rest,
    },
    logger,
  );
}

export const isCheckpointKey = (key: string): boolean => key.startsWith('redis-gunyu-checkpoint');
