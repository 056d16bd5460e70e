import { loadAppConfig } from '@kvforge/common-http';
import { describe, expect, it } from 'vitest';
import { DCACHE_CONFIG_SPEC } from '../src/config';

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadAppConfig(DCACHE_CONFIG_SPEC, argv, env);

describe('dcache config (one schema: flags, env, --help)', () => {
  it('--help lists every flag with its env name and default', () => {
    const { help } = load(['--help']);
    for (const line of [
      '--node-id ID',
      'DCACHE_NODE_ID',
      'DCACHE_LISTEN',
      'DCACHE_SEEDS',
      'DCACHE_CLUSTER_TOKEN',
      'DCACHE_LOG_LEVEL',
      '--max-memory SIZE',
      '(default: 256mb)',
      '--leave-timeout-ms',
      'the --listen address',
      '--config FILE',
    ])
      expect(help).toContain(line);
  });

  it('flags win over env, env over defaults; lists and numbers are converted', () => {
    const { config } = load(['--node-id', 'n1', '--probe-interval-ms', '200'], {
      DCACHE_NODE_ID: 'from-env',
      DCACHE_SEEDS: '127.0.0.1:8002,[::1]:8003',
      DCACHE_CLUSTER_TOKEN: 's3cret',
    });
    expect(config).toMatchObject({
      nodeId: 'n1',
      seeds: ['127.0.0.1:8002', '[::1]:8003'],
      clusterToken: 's3cret',
      probeIntervalMs: 200,
      listen: '127.0.0.1:8001',
      maxMemory: '256mb',
    });
  });

  it('bad values stop with the field named', () => {
    expect(() => load(['--node-id', 'n1', '--max-memory', 'lots'])).toThrow(/maxMemory/);
    expect(() => load(['--node-id', 'n1', '--seeds', 'nowhere'])).toThrow(/seeds/);
    expect(() => load(['--node-id', 'n1', '--replicas', '1', '--write-quorum', '2'])).toThrow(/writeQuorum/);
    expect(() => load(['--node-id', 'n1', '--membership', 'etcd'])).toThrow(/etcdEndpoints/);
    expect(() => load([])).toThrow(/nodeId/);
  });
});
