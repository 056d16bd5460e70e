import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  getFreePort,
  type ManagedProcess,
  makeTempDirectory,
  removeDirectory,
  startProcess,
} from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const RUN_MAIN = ['--import', 'tsx', '--conditions=@kvforge/source', 'src/main.ts'];
const app = (name: string) => fileURLToPath(new URL(`../../${name}`, import.meta.url));

interface CliResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function cli(meta: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      'node',
      [...RUN_MAIN, '--meta', meta, ...args],
      { cwd: app('memcache-cli'), encoding: 'buffer', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr: stderr.toString() });
      },
    );
  });
}

describe('memcache-cli against a meta service and two local services (real processes)', () => {
  const processes: ManagedProcess[] = [];
  const directory = makeTempDirectory('mmc-cli');
  let meta: string;
  let rest: string;

  beforeAll(async () => {
    const rpcPort = await getFreePort();
    const httpPort = await getFreePort();
    meta = `tcp://127.0.0.1:${rpcPort}`;
    rest = `http://127.0.0.1:${httpPort}`;
    processes.push(
      await startProcess({
        name: 'memcache-meta-service',
        command: 'node',
        args: [
          ...RUN_MAIN,
          `--ock.mmc.meta_service_url=${meta}`,
          `--ock.mmc.meta_service.metrics_url=${rest}`,
          '--ock.mmc.log_level=warn',
        ],
        cwd: app('memcache-meta-service'),
        readyWhen: { port: httpPort },
      }),
    );
    for (const rank of [0, 1]) {
      processes.push(
        await startProcess({
          name: `memcache-local-service ${rank}`,
          command: 'node',
          args: [
            ...RUN_MAIN,
            '--rank',
            String(rank),
            `--ock.mmc.meta_service_url=${meta}`,
            '--ock.mmc.local_service.dram.size=32MB',
            '--ock.mmc.local_service.hbm.size=8MB',
            '--ock.mmc.log_level=warn',
          ],
          cwd: app('memcache-local-service'),
          readyWhen: {
            check: async () =>
              (await (await fetch(`${rest}/get_all_segments`)).text()).includes(`rank-${rank}-dram`),
          },
          readyTimeoutMs: 30_000,
        }),
      );
    }
  });

  afterAll(async () => {
    for (const process of processes.reverse()) await process.stop();
    removeDirectory(directory);
  });

  it('put FILE, get to a file and to stdout, stat as JSON, ls, rm; exit 0 each time', async () => {
    const input = join(directory, 'block.bin');
    const value = Buffer.from(Array.from({ length: 5 * 1024 * 1024 + 3 }, (_, index) => (index * 7) % 256));
    writeFileSync(input, value);

    const put = await cli(meta, ['put', 'layer-0/block-1', input, '--replicas', '2', '--medium', 'dram']);
    expect(put).toMatchObject({ code: 0 });
    expect(put.stderr).toBe(`stored layer-0/block-1: ${value.length} bytes, 2 replicas\n`);

    const output = join(directory, 'out.bin');
    expect((await cli(meta, ['get', 'layer-0/block-1', output])).code).toBe(0);
    expect(readFileSync(output).equals(value)).toBe(true);
    const toStdout = await cli(meta, ['get', 'layer-0/block-1']);
    expect(toStdout.code).toBe(0);
    expect(toStdout.stdout.equals(value)).toBe(true);

    const stat = await cli(meta, ['stat', 'layer-0/block-1']);
    expect(stat.code).toBe(0);
    const info = JSON.parse(stat.stdout.toString());
    expect(info).toMatchObject({ key: 'layer-0/block-1', size: value.length, numBlobs: 2, valid: true });
    expect(info.blobs.map((blob: { rank: number }) => blob.rank).sort()).toEqual([0, 1]);
    expect(info.blobs.map((blob: { medium: string }) => blob.medium)).toEqual(['DRAM', 'DRAM']);

    expect((await cli(meta, ['ls'])).stdout.toString()).toBe('layer-0/block-1\n');
    expect(await cli(meta, ['rm', 'layer-0/block-1'])).toMatchObject({
      code: 0,
      stderr: 'removed layer-0/block-1\n',
    });
    expect((await cli(meta, ['ls'])).stdout.toString()).toBe('');
  });

  it('failures exit non-zero with one line: missing key, duplicate (-3006), usage, unreachable meta, --help', async () => {
    const missing = await cli(meta, ['get', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('memcache-cli: get: get nope: no such key\n');

    const input = join(directory, 'small.bin');
    writeFileSync(input, 'x');
    expect((await cli(meta, ['put', 'once', input])).code).toBe(0);
    const duplicate = await cli(meta, ['put', 'once', input]);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('already cached');
    expect(duplicate.stderr).toContain('-3006');
    expect(duplicate.stderr.trimEnd().split('\n')).toHaveLength(1);

    expect((await cli(meta, ['put', 'k'])).code).toBe(2);
    expect((await cli(meta, ['frobnicate'])).stderr).toBe(
      'memcache-cli: unknown command "frobnicate" (see --help)\n',
    );
    expect((await cli(meta, ['put', 'k', input, '--medium', 'ssd'])).code).toBe(2);

    const unreachable = await cli(`tcp://127.0.0.1:${await getFreePort()}`, ['ls']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^memcache-cli: ls: .*ECONNREFUSED.*\n$/);

    const help = await cli(meta, ['--help']);
    expect(help.code).toBe(0);
    for (const text of ['put KEY FILE', 'get KEY [OUTFILE]', 'rm KEY', 'ls', 'stat KEY', '--meta URL']) {
      expect(help.stdout.toString()).toContain(text);
    }
  });
});
