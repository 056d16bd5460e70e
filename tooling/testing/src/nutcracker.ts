import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getFreePort } from './ports';
import { type ManagedProcess, startProcess } from './process';
import { makeTempDirectory, removeDirectory } from './temp-directory';

export interface StartNutcrackerOptions {
  /** Redis backends as `host:port`. */
  servers: readonly string[];
  /** e.g. '{}' */
  hashTag?: string;
  /** Backend password (twemproxy's `redis_auth`). */
  redisPassword?: string;
  /** Extra pool keys, written as `key: value`. */
  extra?: Record<string, string>;
}

export interface NutcrackerProcess {
  readonly port: number;
  /** `127.0.0.1:port` */
  readonly address: string;
  readonly statsPort: number;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts twemproxy (Debian `nutcracker`) in front of the given Redis servers. */
export async function startNutcracker(options: StartNutcrackerOptions): Promise<NutcrackerProcess> {
  const directory = makeTempDirectory('nutcracker');
  const port = await getFreePort();
  const statsPort = await getFreePort();
  const lines = [
    'kvforge:',
    `  listen: 127.0.0.1:${port}`,
    '  hash: fnv1a_64',
    '  distribution: ketama',
    '  redis: true',
    '  auto_eject_hosts: false',
    '  preconnect: true',
    ...(options.hashTag ? [`  hash_tag: "${options.hashTag}"`] : []),
    ...(options.redisPassword ? [`  redis_auth: ${options.redisPassword}`] : []),
    ...Object.entries(options.extra ?? {}).map(([key, value]) => `  ${key}: ${value}`),
    '  servers:',
    ...options.servers.map((server, index) => `    - ${server}:1 server${index}`),
  ];
  const configPath = join(directory, 'nutcracker.yml');
  writeFileSync(configPath, `${lines.join('\n')}\n`);
  const managed = await startProcess({
    name: `nutcracker:${port}`,
    command: 'nutcracker',
    args: [
      '-c',
      configPath,
      '-s',
      String(statsPort),
      '-a',
      '127.0.0.1',
      '-p',
      join(directory, 'nutcracker.pid'),
      '-o',
      join(directory, 'nutcracker.log'),
    ],
    readyWhen: { port },
  });
  return {
    port,
    address: `127.0.0.1:${port}`,
    statsPort,
    process: managed,
    async stop() {
      await managed.stop();
      removeDirectory(directory);
    },
  };
}
