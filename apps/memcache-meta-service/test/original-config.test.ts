import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UNUSED_META_KEYS } from '@kvforge/memcache-hybrid';
import { getFreePort, makeTempDirectory, removeDirectory, startProcess } from '@kvforge/testing';
import { describe, expect, it } from 'vitest';

const appDirectory = fileURLToPath(new URL('..', import.meta.url));
const RUN_MAIN = ['--import', 'tsx', '--conditions=@kvforge/source', 'src/main.ts'];
const SAMPLE = fileURLToPath(new URL('./fixtures/mmc-meta.conf', import.meta.url));

describe("the original's mmc-meta.conf", () => {
  it('starts the meta service from the full sample: one warning per key not acted on, no error', async () => {
    const rpcPort = await getFreePort();
    const httpPort = await getFreePort();
    const service = await startProcess({
      name: 'memcache-meta-service',
      command: 'node',
      // Only the sample's placeholder addresses (xx.xx.xx.xx) are overridden, by flags.
      args: [
        ...RUN_MAIN,
        '--config',
        SAMPLE,
        `--ock.mmc.meta_service_url=tcp://127.0.0.1:${rpcPort}`,
        `--ock.mmc.meta_service.metrics_url=http://127.0.0.1:${httpPort}`,
      ],
      cwd: appDirectory,
      readyWhen: { port: httpPort },
    });
    try {
      const health = await (await fetch(`http://127.0.0.1:${httpPort}/health`)).json();
      expect(health).toMatchObject({ role: 'leader' });
      const output = service.output();
      const sampleKeys = [
        'ock.mmc.meta_service.config_store_url',
        'ock.mmc.log_path',
        'ock.mmc.log_rotation_file_size',
        'ock.mmc.log_rotation_file_count',
        'ock.mmc.tls.enable',
        'ock.mmc.tls.decrypter.path',
        'ock.mmc.config_store.tls.key.pass.path',
        'ock.mmc.ubs_io.enable',
      ];
      for (const key of sampleKeys) {
        const lines = output.split('\n').filter((line) => line.includes(`config key ${key} is accepted`));
        expect(lines, key).toHaveLength(1);
      }
      // The sample sets log_level = error, yet the warnings are shown; nothing else is.
      expect(output).not.toContain('"level":50');
      expect(output).not.toContain('meta service ready');
    } finally {
      await service.stop();
    }
    expect(await service.exited).toBe(0);
  });

  it('every key of the original is accepted; a key nobody knows is still an error naming it', () => {
    const directory = makeTempDirectory('mmc-original-keys');
    try {
      const path = join(directory, 'every-key.conf');
      writeFileSync(
        path,
        Object.keys(UNUSED_META_KEYS)
          .map((key) => `${key} = x`)
          .join('\n'),
      );
      const help = spawnSync('node', [...RUN_MAIN, '--config', path, '--help'], {
        cwd: appDirectory,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('--ock.mmc.meta_service.config_store_url VALUE');

      writeFileSync(
        path,
        'ock.mmc.log_path = .\nock.mmc.meta_service.config_store_ur = tcp://127.0.0.1:6000\n',
      );
      const bad = spawnSync('node', [...RUN_MAIN, '--config', path], {
        cwd: appDirectory,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('ock.mmc.meta_service.config_store_ur');
    } finally {
      removeDirectory(directory);
    }
  });
});
