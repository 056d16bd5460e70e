import { Redis, type RedisOptions } from 'ioredis';
import { getFreePort } from './ports';
import { type ManagedProcess, startProcess } from './process';
import { makeTempDirectory, removeDirectory } from './temp-directory';

export interface StartRedisOptions {
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes']. */
  args?: readonly string[];
  password?: string;
  replicaOf?: { host: string; port: number };
  /** Password of the master when replicaOf is set. @default password */
  masterPassword?: string;
  /** Reuse a port (e.g. a restarted server). @default a free port */
  port?: number;
  /** Reuse a data directory. @default a new temp directory, removed on stop */
  directory?: string;
}

export interface RedisProcess {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `127.0.0.1:port` */
  readonly address: string;
  readonly directory: string;
  readonly password: string | undefined;
  process: ManagedProcess;
  /** A new ioredis client (closed by stop()). */
  client(options?: RedisOptions): Redis;
  /** Stops the server (SIGTERM) and removes its directory unless it was given. */
  stop(): Promise<void>;
  /** Sends a signal (default SIGKILL) without cleaning up, for crash tests. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and directory (after stop or kill). */
  restart(): Promise<void>;
}

function buildArguments(port: number, directory: string, options: StartRedisOptions): string[] {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    directory,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    '--logfile',
    '',
    '--loglevel',
    'notice',
    // Tests should not wait 5 s for a diskless full sync to start; callers can pass it back.
    '--repl-diskless-sync-delay',
    '0',
  ];
  if (options.password) args.push('--requirepass', options.password);
  if (options.replicaOf) {
    args.push('--replicaof', options.replicaOf.host, String(options.replicaOf.port));
    const masterPassword = options.masterPassword ?? options.password;
    if (masterPassword) args.push('--masterauth', masterPassword);
  }
  args.push(...(options.args ?? []));
  return args;
}

async function launch(port: number, directory: string, options: StartRedisOptions): Promise<ManagedProcess> {
  return startProcess({
    name: `redis-server:${port}`,
    command: 'redis-server',
    args: buildArguments(port, directory, options),
    readyWhen: { logLine: /Ready to accept connections/ },
  });
}

/** Starts a real redis-server on a free loopback port in a temp directory. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisProcess> {
  const directory = options.directory ?? makeTempDirectory('redis');
  let port = options.port ?? (await getFreePort());
  let managed: ManagedProcess | undefined;
  // A free port can be taken between the probe and the bind by a parallel test; try another.
  for (let attempt = 0; ; attempt++) {
    try {
      managed = await launch(port, directory, options);
      break;
    } catch (error) {
      if (options.port !== undefined || attempt >= 3) throw error;
      port = await getFreePort();
    }
  }
  const clients = new Set<Redis>();
  const server: RedisProcess = {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    directory,
    password: options.password,
    process: managed,
    client(clientOptions = {}) {
      const client = new Redis({
        host: '127.0.0.1',
        port,
        password: options.password,
        lazyConnect: false,
        ...clientOptions,
      });
      client.on('error', () => {}); // a server killed on purpose must not crash the test with an unhandled error
      clients.add(client);
      client.once('end', () => clients.delete(client));
      return client;
    },
    async stop() {
      for (const client of clients) client.disconnect();
      clients.clear();
      await server.process.stop();
      if (options.directory === undefined) removeDirectory(directory);
    },
    async kill(signal = 'SIGKILL') {
      await server.process.kill(signal);
    },
    async restart() {
      await server.process.stop();
      server.process = await launch(port, directory, options);
    },
  };
  return server;
}
