import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BLOB_ACTION, MEDIUM, MetaRpcClient, MMC } from '@kvforge/memcache-hybrid';
import { getFreePort, makeTempDirectory, removeDirectory, startProcess } from '@kvforge/testing';
import { describe, expect, it } from 'vitest';

const appDirectory = fileURLToPath(new URL('..', import.meta.url));
/** node arguments that run the app from its TypeScript sources. */
const RUN_MAIN = ['--import', 'tsx', '--conditions=@kvforge/source', 'src/main.ts'];

describe('memcache-meta-service binary (real process)', () => {
  it('serves meta RPC and REST from its config, and exits cleanly on SIGTERM', async () => {
    const rpcPort = await getFreePort();
    const httpPort = await getFreePort();
    const service = await startProcess({
      name: 'memcache-meta-service',
      command: 'node',
      args: [
        ...RUN_MAIN,
        `--ock.mmc.meta_service_url=tcp://127.0.0.1:${rpcPort}`,
        `--ock.mmc.meta_service.metrics_url=http://127.0.0.1:${httpPort}`,
        '--ock.mmc.log_level=warn',
      ],
      cwd: appDirectory,
      readyWhen: { port: httpPort },
    });
    try {
      const client = await MetaRpcClient.connect(`tcp://127.0.0.1:${rpcPort}`);
      expect(await client.mount(0, MEDIUM.DRAM, 1 << 20)).toEqual([MMC.OK]);
      const [result] = await client.alloc('layer-0', 32 * 1024, 1, 0);
      expect(result).toBe(MMC.OK);
      expect(await client.updateState('layer-0', 0, MEDIUM.DRAM, BLOB_ACTION.WRITE_OK)).toEqual([MMC.OK]);
      await client.close();

      const base = `http://127.0.0.1:${httpPort}`;
      const query = await fetch(`${base}/query_key?key=layer-0`);
      expect(query.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await query.json()).toEqual({
        key: 'layer-0',
        size: 32768,
        prot: 0,
        numBlobs: 1,
        valid: true,
        blobs: [{ rank: 0, medium: 'DRAM' }],
      });
      const segment = await (await fetch(`${base}/query_segment?segment=rank-0-dram`)).json();
      expect(segment).toMatchObject({ used_bytes: 32768, total_bytes: 1 << 20 });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('memcache_alloc_successes_total 1\n');
      expect(metrics).toContain('memcache_mount_requests_total 1\n');
    } finally {
      await service.stop();
    }
    expect(await service.exited).toBe(0);
  });

  it('keeps /metadata across a restart with ock.mmc.meta_service.metadata_path', async () => {
    const directory = makeTempDirectory('mmc-metadata');
    const start = async (httpPort: number) =>
      startProcess({
        name: 'memcache-meta-service',
        command: 'node',
        args: [
          ...RUN_MAIN,
          `--ock.mmc.meta_service_url=tcp://127.0.0.1:${await getFreePort()}`,
          `--ock.mmc.meta_service.metrics_url=http://127.0.0.1:${httpPort}`,
          `--ock.mmc.meta_service.metadata_path=${join(directory, 'metadata.json')}`,
          '--ock.mmc.log_level=warn',
        ],
        cwd: appDirectory,
        readyWhen: { port: httpPort },
      });
    try {
      const firstPort = await getFreePort();
      const first = await start(firstPort);
      try {
        const put = await fetch(`http://127.0.0.1:${firstPort}/metadata?key=model`, {
          method: 'PUT',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'qwen-72b {"tp":8}',
        });
        expect(await put.text()).toBe('metadata updated');
      } finally {
        await first.stop();
      }
      const secondPort = await getFreePort();
      const second = await start(secondPort);
      try {
        const get = await fetch(`http://127.0.0.1:${secondPort}/metadata?key=model`);
        expect(await get.text()).toBe('qwen-72b {"tp":8}');
      } finally {
        await second.stop();
      }
    } finally {
      removeDirectory(directory);
    }
  });

  it('refuses an invalid config before listening, naming the key', () => {
    const result = spawnSync('node', [...RUN_MAIN, '--ock.mmc.evict_threshold_high=120'], {
      cwd: appDirectory,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('ock.mmc.evict_threshold_high');
  });

  it('--help lists every ock.mmc key with its default and the config file flag', () => {
    const result = spawnSync('node', [...RUN_MAIN, '--help'], {
      cwd: appDirectory,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(0);
    for (const line of [
      '--ock.mmc.meta_service_url VALUE',
      '(default: tcp://127.0.0.1:5000)',
      '--ock.mmc.meta_service.metrics_url VALUE',
      '--ock.mmc.evict_threshold_high N',
      '--ock.mmc.evict_threshold_low N',
      '--ock.mmc.log_level VALUE',
      '--ock.mmc.lease_ms N',
      '--ock.mmc.allocated_timeout_ms N',
      '--ock.mmc.ptracer.enable VALUE',
      '--ock.mmc.rpc.max_frame_bytes N',
      '--ock.mmc.meta_service.metadata_path FILE',
      '--ock.mmc.mount MOUNTS',
      '--config FILE',
      'MMC_META_CONFIG_PATH',
    ]) {
      expect(result.stdout).toContain(line);
    }
  });

  it('reads the key = value file named by MMC_META_CONFIG_PATH; a flag overrides it; a bad mount names the key', async () => {
    const directory = makeTempDirectory('mmc-config');
    try {
      const rpcPort = await getFreePort();
      const httpPort = await getFreePort();
      const path = join(directory, 'mmc-meta.conf');
      writeFileSync(
        path,
        [
          '# the original format',
          `ock.mmc.meta_service_url = tcp://127.0.0.1:${rpcPort}`,
          'ock.mmc.meta_service.metrics_url = http://127.0.0.1:1',
          'ock.mmc.mount = 0:DRAM:1MB, 1:HBM:2MB',
          'ock.mmc.log_level = warn',
        ].join('\n'),
      );
      const service = await startProcess({
        name: 'memcache-meta-service',
        command: 'node',
        args: [...RUN_MAIN, `--ock.mmc.meta_service.metrics_url=http://127.0.0.1:${httpPort}`],
        env: { ...process.env, MMC_META_CONFIG_PATH: path },
        cwd: appDirectory,
        readyWhen: { port: httpPort },
      });
      try {
        const segments = await (await fetch(`http://127.0.0.1:${httpPort}/get_all_segments`)).text();
        expect(segments).toBe('rank-1-hbm\nrank-0-dram\n');
        const health = (await (await fetch(`http://127.0.0.1:${httpPort}/health`)).json()) as {
          leader_address: string;
        };
        expect(health.leader_address).toBe(`http://127.0.0.1:${httpPort}`);
        const client = await MetaRpcClient.connect(`tcp://127.0.0.1:${rpcPort}`);
        expect(await client.get('none')).toEqual([MMC.UNMATCHED_KEY, null, 0]);
        await client.close();
      } finally {
        await service.stop();
      }

      writeFileSync(path, 'ock.mmc.mount = 0:SSD:1MB\n');
      const bad = spawnSync('node', [...RUN_MAIN], {
        cwd: appDirectory,
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, MMC_META_CONFIG_PATH: path },
      });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('ock.mmc.mount');
      expect(bad.stderr).toContain('invalid entry "0:SSD:1MB"');
    } finally {
      removeDirectory(directory);
    }
  });
});
