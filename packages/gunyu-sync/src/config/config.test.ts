import { loadAppConfig, loadConfig } from '@kvforge/common-http';
import { describe, expect, it } from 'vitest';
import { replayOptionsFromConfig, spoolOptionsFromConfig } from '../sync-service';
import { GUNYU_APP_CONFIG } from './app-config-spec';
import { type GunyuConfig, gunyuConfigSchema, maskConfig } from './config-schema';
import { formatDuration, parseDuration } from './duration';

const minimal = {
  input: { redis: { addresses: ['127.0.0.1:6379'] } },
  output: { redis: { addresses: ['127.0.0.1:6380'] } },
};

describe('GunYu config', () => {
  it('applies GunYu defaults', () => {
    const config = loadConfig(gunyuConfigSchema, [minimal]);
    expect(config.server.listen).toBe('127.0.0.1:18001');
    expect(config.server.metricRoutePath).toBe('/prometheus');
    expect(parseDuration(config.server.gracefullStopTimeout)).toBe(5000);
    expect(config.output.replay.batchCmdCount).toBe(100);
    expect(config.output.replay.batchBufferSize).toBe(65535);
    expect(parseDuration(config.output.replay.batchTicker)).toBe(10);
    expect(config.output.replay.keyExists).toBe('replace');
    expect(config.output.replay.targetDb).toBe(-1);
    expect(parseDuration(config.channel.staleCheckpointDuration)).toBe(12 * 3_600_000);
  });

  it('rejects unknown keys and bad values, naming them', () => {
    expect(() => loadConfig(gunyuConfigSchema, [{ ...minimal, bogus: 1 }])).toThrow(/bogus/);
    expect(() =>
      loadConfig(gunyuConfigSchema, [minimal, { output: { replay: { batchCmdCount: 500 } } }]),
    ).toThrow(/batchCmdCount/);
    expect(() => loadConfig(gunyuConfigSchema, [minimal, { output: { replay: { targetDb: 2 } } }])).toThrow(
      /targetDb/,
    );
    expect(() =>
      loadConfig(gunyuConfigSchema, [minimal, { server: { gracefullStopTimeout: 'soon' } }]),
    ).toThrow(/gracefullStopTimeout/);
    expect(() => loadConfig(gunyuConfigSchema, [{ output: minimal.output }])).toThrow(/input/);
  });

  it('reads --sync.* flags like the original (lists comma-separated, scalars typed), env GUNYU_*', () => {
    const loaded = loadAppConfig(
      GUNYU_APP_CONFIG,
      [
        '--sync.input.redis.addresses=127.0.0.1:1,127.0.0.1:2',
        '--sync.output.redis.addresses=127.0.0.1:3',
        '--sync.output.replay.batchCmdCount=50',
        '--sync.output.replay.replayTransaction=false',
        '--sync.output.filter.dbBlacklist=3,4',
        '--sync.output.replay.targetDbMap={"0":1}',
        '--sync.server.gracefullStopTimeout=3s',
      ],
      { GUNYU_INPUT_REDIS_PASSWORD: 'from-env', GUNYU_OUTPUT_REPLAY_BATCH_CMD_COUNT: '70' },
    );
    const config = loaded.config as GunyuConfig;
    expect(config.input.redis.addresses).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    expect(config.input.redis.password).toBe('from-env');
    expect(config.output.replay.batchCmdCount).toBe(50); // the flag wins over the environment
    expect(config.output.replay.replayTransaction).toBe(false);
    expect(config.output.filter.dbBlacklist).toEqual([3, 4]);
    expect(config.output.replay.targetDbMap).toEqual({ '0': 1 });
    expect(config.server.gracefullStopTimeout).toBe('3s');
  });

  it('--help lists -conf and every --sync.* key with its GUNYU_* environment name', () => {
    const loaded = loadAppConfig(GUNYU_APP_CONFIG, ['--help'], {});
    expect(loaded.help).toContain('-conf');
    expect(loaded.help).toContain('--config');
    expect(loaded.help).toContain('--sync.input.redis.addresses');
    expect(loaded.help).toContain('GUNYU_INPUT_REDIS_ADDRESSES');
    expect(loaded.help).toContain('--sync.output.replay.batchCmdCount');
  });

  it('a bad flag value or address stops with the field named', () => {
    const base = ['--sync.input.redis.addresses=127.0.0.1:1', '--sync.output.redis.addresses=127.0.0.1:2'];
    expect(() =>
      loadAppConfig(GUNYU_APP_CONFIG, [...base, '--sync.output.replay.batchCmdCount=many'], {}),
    ).toThrow(/batchCmdCount/);
    expect(() =>
      loadAppConfig(GUNYU_APP_CONFIG, ['--sync.input.redis.addresses=::1:6379', base[1] as string], {}),
    ).toThrow(/addresses/);
    expect(() =>
      loadAppConfig(GUNYU_APP_CONFIG, [...base, '--sync.server.listen=127.0.0.1:99999'], {}),
    ).toThrow(/listen/);
  });

  it('masks passwords and formats durations', () => {
    const config = loadConfig(gunyuConfigSchema, [minimal, { input: { redis: { password: 'secret' } } }]);
    expect(maskConfig(config).input.redis.password).toBe('******');
    expect(config.input.redis.password).toBe('secret');
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(formatDuration(90_000)).toBe('90s');
  });

  it('maps channel.* onto the spool (disk share split per input) and keeps the value bound', () => {
    const defaults = loadConfig(gunyuConfigSchema, [minimal]);
    expect(spoolOptionsFromConfig(defaults, 2)).toEqual({
      memoryBytes: 256 * 1024 * 1024,
      maxDiskBytes: 25 * 1024 * 1024 * 1024,
      segmentBytes: 100 * 1024 * 1024,
    });
    expect(replayOptionsFromConfig(defaults).maxBufferedValueBytes).toBe(32 * 1024 * 1024);
    const custom = loadConfig(gunyuConfigSchema, [
      minimal,
      {
        channel: {
          type: 'memory',
          memory: { maxSize: 1024 * 1024 },
          storer: { dirPath: '/var/spool/gunyu' },
        },
        output: { replay: { maxBufferedValueBytes: 1024 * 1024 } },
      },
    ]);
    expect(spoolOptionsFromConfig(custom, 1)).toMatchObject({
      memoryBytes: 1024 * 1024,
      maxDiskBytes: 0,
      directory: '/var/spool/gunyu',
    });
    const unlimited = loadConfig(gunyuConfigSchema, [minimal, { channel: { storer: { maxSize: -1 } } }]);
    expect(spoolOptionsFromConfig(unlimited, 3).maxDiskBytes).toBe(-1);
    expect(() => loadConfig(gunyuConfigSchema, [minimal, { channel: { type: 'redis' } }])).toThrow(/type/);
    expect(() =>
      loadConfig(gunyuConfigSchema, [minimal, { output: { replay: { maxBufferedValueBytes: 10 } } }]),
    ).toThrow(/maxBufferedValueBytes/);
  });

  it('accepts cluster inputs/outputs (DB 0 on a cluster target), rejects sentinel', () => {
    const config = loadConfig(gunyuConfigSchema, [
      {
        input: { redis: { type: 'cluster', addresses: ['127.0.0.1:7000'] } },
        output: {
          redis: { type: 'cluster', addresses: ['127.0.0.1:7100'] },
          replay: { targetDbMap: { '1': 2 } },
        },
      },
    ]);
    expect(config.input.redis.type).toBe('cluster');
    const replay = replayOptionsFromConfig(config);
    expect(replay.targetDb).toBe(0);
    expect(replay.targetDbMap).toEqual({});
    expect(() =>
      loadConfig(gunyuConfigSchema, [
        { ...minimal, input: { redis: { type: 'sentinel', addresses: ['127.0.0.1:1'] } } },
      ]),
    ).toThrow(/sentinel/);
  });
});
