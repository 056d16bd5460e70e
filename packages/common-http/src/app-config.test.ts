import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AppConfigSpec, loadAppConfig } from './app-config';
import { CommandLineError } from './command-line';
import { ConfigError } from './config';

const schema = z.strictObject({
  nodeId: z.string().min(1).describe('Unique id of this node'),
  listen: z.string().default('127.0.0.1:8001').describe('host:port to bind'),
  seeds: z.array(z.string()).default([]).describe('Nodes to join through'),
  probeIntervalMs: z.number().int().min(10).default(1000).describe('Probe interval'),
  verbose: z.boolean().default(false).describe('Log more'),
  tracing: z.stringbool().default(true).describe('Trace spans'),
  server: z
    .strictObject({ metricsPath: z.string().default('/metrics').describe('Metrics route') })
    .default({ metricsPath: '/metrics' }),
});

const spec: AppConfigSpec<typeof schema> = {
  name: 'demo',
  usage: 'demo --node-id ID',
  schema,
  envPrefix: 'DEMO',
  fields: { nodeId: { valueName: 'ID', short: 'n' }, listen: { env: 'DEMO_BIND' } },
  configFile: { flag: 'config' },
};

const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const loaded = loadAppConfig(spec, argv, env);
  if (loaded.help !== undefined) throw new Error('unexpected help');
  return loaded.config;
};

describe('loadAppConfig', () => {
  it('derives kebab flags, converts them by the field type and applies schema defaults', () => {
    expect(
      load([
        '-n',
        'a',
        '--seeds',
        'x:1,y:2',
        '--probe-interval-ms=50',
        '--verbose',
        '--server.metrics-path',
        '/m',
      ]),
    ).toEqual({
      nodeId: 'a',
      listen: '127.0.0.1:8001',
      seeds: ['x:1', 'y:2'],
      probeIntervalMs: 50,
      verbose: true,
      tracing: true,
      server: { metricsPath: '/m' },
    });
  });

  it('layers file < environment < flags, with env names derived or overridden', () => {
    const directory = mkdtempSync(join(tmpdir(), 'app-config-'));
    const file = join(directory, 'demo.json');
    writeFileSync(file, JSON.stringify({ nodeId: 'file', probeIntervalMs: 20, seeds: ['f:1'] }));
    const config = load(['--config', file, '--probe-interval-ms', '30'], {
      DEMO_NODE_ID: 'env',
      DEMO_PROBE_INTERVAL_MS: '25',
      DEMO_BIND: '0.0.0.0:9',
      DEMO_TRACING: 'false',
      DEMO_SERVER_METRICS_PATH: '/env',
    });
    expect(config).toMatchObject({
      nodeId: 'env',
      probeIntervalMs: 30,
      listen: '0.0.0.0:9',
      seeds: ['f:1'],
      tracing: false,
      server: { metricsPath: '/env' },
    });
  });

  it('names the bad field: a flag, an environment variable, or a schema violation', () => {
    expect(() => load(['--probe-interval-ms', 'soon'])).toThrow(CommandLineError);
    expect(() => load(['--probe-interval-ms', 'soon'])).toThrow('--probe-interval-ms expects a number');
    expect(() => load([], { DEMO_NODE_ID: 'a', DEMO_PROBE_INTERVAL_MS: 'x' })).toThrow(
      'DEMO_PROBE_INTERVAL_MS expects a number',
    );
    expect(() => load(['--node-id', 'a', '--probe-interval-ms', '1'])).toThrow(ConfigError);
    expect(() => load(['--node-id', 'a', '--probe-interval-ms', '1'])).toThrow(/probeIntervalMs/);
    expect(() => load(['--nope'])).toThrow('unknown option --nope');
    expect(() => load(['--node-id', 'a', 'stray'])).toThrow('unexpected argument "stray"');
  });

  it('writes --help with every flag, its environment name and its default', () => {
    const loaded = loadAppConfig(spec, ['--help'], {});
    expect(loaded.help).toBeDefined();
    const help = loaded.help ?? '';
    expect(help).toContain('Usage: demo --node-id ID');
    expect(help).toMatch(/-n, --node-id ID\s+Unique id of this node \[env DEMO_NODE_ID\]/);
    expect(help).toMatch(
      /--listen VALUE\s+host:port to bind \[env DEMO_BIND\] \(default: 127\.0\.0\.1:8001\)/,
    );
    expect(help).toMatch(/--server\.metrics-path VALUE\s+Metrics route \[env DEMO_SERVER_METRICS_PATH\]/);
    expect(help).toContain('--config FILE');
  });

  it('supports path-style flags under a prefix, keys kept as written, a custom file reader and a file named by env', () => {
    const flat = z.strictObject({
      'ock.mmc.lease_ms': z.coerce.number().int().positive().default(2000).describe('Lease'),
      input: z.strictObject({ addresses: z.array(z.string()).default([]) }).default({ addresses: [] }),
    });
    const load = (argv: string[], env: NodeJS.ProcessEnv) =>
      loadAppConfig(
        {
          name: 'flat',
          usage: 'flat',
          schema: flat,
          flagStyle: 'path',
          flagPrefix: 'sync.',
          envPrefix: '',
          configFile: {
            flag: 'conf',
            short: 'conf',
            aliases: ['config'],
            env: 'FLAT_CONFIG_PATH',
            read: (path) => {
              readPaths.push(path);
              return { 'ock.mmc.lease_ms': '7' };
            },
          },
        },
        argv,
        env,
      );
    const readPaths: string[] = [];
    expect(
      load(['-conf', 'flag.conf', '--sync.input.addresses=a:1,b:2'], { OCK_MMC_LEASE_MS: '9' }).config,
    ).toEqual({
      'ock.mmc.lease_ms': 9,
      input: { addresses: ['a:1', 'b:2'] },
    });
    expect(load([], { FLAT_CONFIG_PATH: 'env.conf' }).config).toEqual({
      'ock.mmc.lease_ms': 7,
      input: { addresses: [] },
    });
    expect(load(['--config', 'flag.conf'], { FLAT_CONFIG_PATH: 'env.conf' }).config).toBeDefined();
    expect(readPaths).toEqual(['flag.conf', 'env.conf', 'flag.conf']);
  });
});
