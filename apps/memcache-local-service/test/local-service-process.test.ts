import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MemCacheClient } from '@kvforge/memcache-hybrid';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_APP, type MetaProcess, RUN_MAIN, startLocal, startMeta } from './stack';

const SAMPLE = fileURLToPath(new URL('./fixtures/mmc-local.conf', import.meta.url));
const MiB = 1024 * 1024;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function meta(): Promise<MetaProcess> {
  const started = await startMeta();
  cleanups.push(() => started.process.stop());
  return started;
}

describe('memcache-local-service binary (real processes)', () => {
  it("starts from the original's full mmc-local.conf: warnings for keys not acted on, segments mounted with real sizes", async () => {
    const metaService = await meta();
    const local = await startLocal(metaService, 0, [
      '--config',
      SAMPLE,
      // Only the sample's placeholder meta address and its 2GB are overridden (a shared 2-core box).
      '--ock.mmc.local_service.dram.size=33mb',
    ]);
    cleanups.push(() => local.stop());
    const segment = (await (await fetch(`${metaService.rest}/query_segment?segment=rank-0-dram`)).json()) as {
      total_bytes: number;
      used_bytes: number;
    };
    // 33 MB is aligned down to 2 MB, as the original does for host memory.
    expect(segment).toMatchObject({ total_bytes: 32 * MiB, used_bytes: 0 });
    const output = local.output();
    for (const key of [
      'ock.mmc.local_service.config_store_url',
      'ock.mmc.local_service.hcom_url',
      'ock.mmc.local_service.hcom.tls.enable',
      'ock.mmc.client.retry_milliseconds',
      'ock.mmc.client.read_thread_pool.size',
    ]) {
      expect(
        output.split('\n').filter((line) => line.includes(`config key ${key} is accepted`)),
        key,
      ).toHaveLength(1);
    }
  });

  it('serves put/get for a client, and on SIGTERM unmounts (its objects disappear) and exits 0', async () => {
    const metaService = await meta();
    const local = await startLocal(metaService, 3, [
      '--ock.mmc.local_service.dram.size=16MB',
      '--ock.mmc.local_service.hbm.size=4MB',
    ]);
    cleanups.push(() => local.stop());
    const client = await MemCacheClient.connect({ metaUrl: metaService.metaUrl });
    cleanups.push(() => client.close());
    const value = Buffer.alloc(3 * MiB, 7);
    await client.put('kv', value);
    expect((await client.query('kv'))?.blobs).toEqual([{ rank: 3, medium: 0 }]);
    expect((await client.get('kv')).equals(value)).toBe(true);

    await local.stop();
    expect(await local.exited).toBe(0);
    expect(await (await fetch(`${metaService.rest}/get_all_segments`)).text()).toBe('');
    expect(await client.exists('kv')).toBe(false);
  });

  it('--help; a missing --rank, a bad size and an unknown key stop it with exit 2 naming the field', () => {
    const run = (args: string[]) =>
      spawnSync('node', [...RUN_MAIN, ...args], { cwd: LOCAL_APP, encoding: 'utf8', timeout: 30_000 });
    const help = run(['--help']);
    expect(help.status).toBe(0);
    for (const line of [
      '--rank N',
      '--data-listen HOST:PORT',
      '--ock.mmc.local_service.dram.size SIZE',
      'MMC_LOCAL_CONFIG_PATH',
    ]) {
      expect(help.stdout).toContain(line);
    }
    const noRank = run([]);
    expect(noRank.status).toBe(2);
    expect(noRank.stderr).toContain('rank');
    const badSize = run(['--rank', '0', '--ock.mmc.local_service.dram.size=lots']);
    expect(badSize.status).toBe(2);
    expect(badSize.stderr).toContain('ock.mmc.local_service.dram.size');
    const unknown = run(['--rank', '0', '--ock.mmc.local_service.dram.sise=1GB']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('ock.mmc.local_service.dram.sise');
  });
});
