// Every app that serves HTTP, started from its TypeScript sources (no build) on free loopback ports,
// with the real Redis servers it needs, through the @kvforge/testing fixtures. Needs the
// `@kvforge/source` condition and tsx in this process (see withSourceLoader).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE_FLAGS = ['--conditions=@kvforge/source', '--import', 'tsx'];
// tsx compiles a whole app on first start; a loaded 2-core box needs far longer than an idle one.
const READY_TIMEOUT_MS = 90_000;

/**
 * Re-runs the calling script under tsx with the source condition when it was started with plain
 * `node`, so `node tooling/scripts/x.mjs` works as well as the package.json script. Returns only
 * when the loader is already present.
 */
export function withSourceLoader(scriptUrl) {
  if (process.execArgv.includes('--conditions=@kvforge/source')) return;
  const result = spawnSync(
    process.execPath,
    [...SOURCE_FLAGS, fileURLToPath(scriptUrl), ...process.argv.slice(2)],
    { cwd: root, stdio: 'inherit' },
  );
  process.exit(result.status ?? 1);
}

async function fixtures() {
  return import(join(root, 'tooling/testing/src/index.ts'));
}

/** Starts `apps/<app>/src/main.ts`; ready once `GET <origin>/docs/json` answers 200. */
async function startApp(testing, app, origin, args) {
  return testing.startProcess({
    name: app,
    command: process.execPath,
    args: [...SOURCE_FLAGS, join(root, 'apps', app, 'src', 'main.ts'), ...args],
    cwd: root,
    readyTimeoutMs: READY_TIMEOUT_MS,
    readyWhen: {
      check: async () => (await fetch(`${origin}/docs/json`).catch(() => undefined))?.ok === true,
    },
  });
}

/**
 * The HTTP services, each a `{ name, start() }`; start() resolves `{ origin, stop() }` once the
 * service answers, its dependencies (Redis, a ConfigServer) started and stopped with it.
 */
export async function httpServices() {
  const testing = await fixtures();
  const port = () => testing.getFreePort();
  const directories = [];
  const temp = (prefix) => {
    const directory = testing.makeTempDirectory(prefix);
    directories.push(directory);
    return directory;
  };

  /** Runs `steps` in order; on a failure or on stop() everything started so far stops, newest first. */
  async function group(steps) {
    const started = [];
    const stop = async () => {
      for (const part of started.reverse()) await part.stop();
    };
    try {
      let last;
      for (const step of steps) {
        last = await step(started.at(-1));
        started.push(last);
      }
      return { origin: last.origin, stop };
    } catch (error) {
      await stop();
      throw error;
    }
  }

  const app = (name, makeArgs) => async () => {
    const httpPort = await port();
    const origin = `http://127.0.0.1:${httpPort}`;
    const managed = await startApp(testing, name, origin, await makeArgs(httpPort));
    return { origin, stop: () => managed.stop() };
  };

  const configServerArgs = (httpPort) => [
    '--http-port',
    String(httpPort),
    '--host',
    '127.0.0.1',
    '--data-dir',
    temp('docs-config-server'),
    '--log-level',
    'warn',
  ];

  const services = [
    {
      name: 'kvstore-config-server',
      start: () => group([app('kvstore-config-server', configServerArgs)]),
    },
    {
      name: 'kvstore-proxy',
      // A proxy serves once its namespace has a table: a ConfigServer over one real Redis master.
      start: async () => {
        const redis = await testing.startRedis();
        let configServer;
        return group([
          async () => redis,
          async () => {
            configServer = await app('kvstore-config-server', configServerArgs)();
            const body = await fetch(`${configServer.origin}/kvstore/cs/init_table`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ namespace: 'docs', bucket_count: 256, address_list: [redis.address] }),
            }).then((response) => response.json());
            if (body.code !== 1001) throw new Error(`init_table answered ${JSON.stringify(body)}`);
            return configServer;
          },
          app('kvstore-proxy', async (httpPort) => [
            '--port',
            String(await port()),
            '--host',
            '127.0.0.1',
            '--http-port',
            String(httpPort),
            '--namespace',
            'docs',
            '--config-server',
            new URL(configServer.origin).host,
            '--log-level',
            'warn',
          ]),
        ]);
      },
    },
    {
      name: 'gunyu-sync',
      start: async () => {
        const source = await testing.startRedis();
        const target = await testing.startRedis();
        return group([
          async () => source,
          async () => target,
          app('gunyu-sync', async (httpPort) => [
            `--sync.input.redis.addresses=${source.address}`,
            `--sync.output.redis.addresses=${target.address}`,
            `--sync.server.listen=127.0.0.1:${httpPort}`,
            `--sync.channel.storer.dirPath=${temp('docs-gunyu')}`,
          ]),
        ]);
      },
    },
    {
      name: 'dcache',
      start: () =>
        group([
          app('dcache', async (httpPort) => [
            '--node-id',
            'docs',
            '--listen',
            `127.0.0.1:${httpPort}`,
            '--log-level',
            'warn',
          ]),
        ]),
    },
    {
      name: 'memcache-meta-service',
      start: () =>
        group([
          app('memcache-meta-service', async (httpPort) => [
            `--ock.mmc.meta_service_url=tcp://127.0.0.1:${await port()}`,
            `--ock.mmc.meta_service.metrics_url=http://127.0.0.1:${httpPort}`,
            '--ock.mmc.log_level=warn',
          ]),
        ]),
    },
  ];
  const removeTemporaryDirectories = () => {
    for (const directory of directories) testing.removeDirectory(directory);
  };
  return { services, removeTemporaryDirectories };
}
