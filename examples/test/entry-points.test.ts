// Each example run as a user runs it, as a script: it must print its result and exit by itself
// (a handle left open — a socket, a timer — would keep it alive until the timeout fails the test).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { getFreePort, type RedisProcess, startRedis } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
const examplesDirectory = new URL('..', import.meta.url).pathname;

let servers: RedisProcess[];

beforeAll(async () => {
  servers = await Promise.all([startRedis(), startRedis(), startRedis(), startRedis()]);
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server?.stop()));
});

/** `tsx src/<name>.ts …args` on the TypeScript sources (no build), with a deadline. */
async function runScript(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--conditions=@kvforge/source', '--import', 'tsx', `src/${name}.ts`, ...args],
    { cwd: examplesDirectory, env: { ...process.env, ...env }, timeout: 30_000 },
  );
  return stdout;
}

describe('examples as scripts exit on their own after printing their result', () => {
  it('dcache-in-fastify (address from DCACHE_LISTEN)', async () => {
    const port = await getFreePort();
    const output = await runScript('dcache-in-fastify', [], { DCACHE_LISTEN: `127.0.0.1:${port}` });
    expect(output).toContain('张三');
    expect(output).toContain(`node-${port}`);
  });

  it('resp-with-redis', async () => {
    const output = await runScript('resp-with-redis', [servers[0]!.address]);
    expect(output).toContain('hello 你好');
    expect(output).toContain('(error) ERR value is not an integer');
  });

  it('gunyu-sync-pipeline', async () => {
    const output = await runScript('gunyu-sync-pipeline', [servers[1]!.address, servers[2]!.address]);
    expect(output).toMatch(/whileRunning: \{\s*written: '(while-[\d-]+)',\s*onTarget: '\1'/);
  });

  it('memcache-round-trip', async () => {
    const output = await runScript('memcache-round-trip', ['127.0.0.1']);
    expect(output).toContain('identical: true');
  });

  it('kvstore-embedded-proxy (masters from KVSTORE_MASTERS)', async () => {
    const masters = [servers[0]!.address, servers[3]!.address];
    const output = await runScript('kvstore-embedded-proxy', [], { KVSTORE_MASTERS: masters.join(',') });
    expect(output).toContain('allReadBack: true');
    for (const master of masters) expect(output).toContain(master);
  });
});
