import { createHash } from 'node:crypto';
import { MemCacheClient, MMC } from '@kvforge/memcache-hybrid';
import { type ManagedProcess, startProcess, waitFor } from '@kvforge/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_APP, type MetaProcess, startLocal, startMeta } from './stack';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const digest = (value: Buffer) => createHash('sha256').update(value).digest('hex');
const valueFor = (index: number, size: number) => Buffer.alloc(size, `value-${index}-`);

async function stack(
  metaFlags: string[] = [],
): Promise<{ meta: MetaProcess; locals: ManagedProcess[]; client: MemCacheClient }> {
  const meta = await startMeta(metaFlags);
  cleanups.push(() => meta.process.stop());
  const locals: ManagedProcess[] = [];
  for (const rank of [0, 1]) {
    const local = await startLocal(meta, rank, [
      '--ock.mmc.local_service.dram.size=32MB',
      '--ock.mmc.log_level=warn',
    ]);
    cleanups.push(() => local.stop());
    locals.push(local);
  }
  const client = await MemCacheClient.connect({ metaUrl: meta.metaUrl, sharedMemory: false });
  cleanups.push(() => client.close());
  return { meta, locals, client };
}

const allKeys = async (rest: string) =>
  (await (await fetch(`${rest}/get_all_keys`)).text()).split('\n').filter((line) => line.length > 0);

describe('faults with real processes', () => {
  it('kill -9 of the local service holding replica 1: 2-replica gets fall back, only-replica objects are gone', async () => {
    const { meta, locals, client } = await stack();
    const acknowledged = new Map<string, string>();
    for (let index = 0; index < 40; index++) {
      const value = valueFor(index, 1000 + index * 997);
      const key = index % 2 === 0 ? `both-${index}` : `only-${index}`;
      await client.put(
        key,
        value,
        index % 2 === 0 ? { replicas: 2, preferredRanks: [0, 1] } : { preferredRanks: [0] },
      );
      acknowledged.set(key, digest(value));
    }
    expect((await client.query('both-0'))?.blobs.map((blob) => blob.rank)).toEqual([0, 1]);

    await (locals[0] as ManagedProcess).kill('SIGKILL');
    // Reads racing the meta service's notice: the dead rank's replica fails, the other one answers.
    for (const [key, expected] of acknowledged) {
      if (!key.startsWith('both-')) continue;
      expect(digest(await client.get(key)), key).toBe(expected);
    }
    await waitFor(
      async () => !(await (await fetch(`${meta.rest}/get_all_segments`)).text()).includes('rank-0'),
      {
        timeoutMs: 15_000,
        message: 'rank 0 cleared',
      },
    );
    const keys = await allKeys(meta.rest);
    for (const [key, expected] of acknowledged) {
      if (key.startsWith('both-')) {
        expect(keys).toContain(key);
        expect(digest(await client.get(key)), key).toBe(expected);
        expect((await client.query(key))?.blobs).toEqual([{ rank: 1, medium: 1 }]);
      } else {
        expect(keys).not.toContain(key);
        await expect(client.get(key)).rejects.toMatchObject({
          code: 'MMC_ERR_NOT_FOUND',
          result: MMC.UNMATCHED_KEY,
        });
      }
    }
  });

  it('kill -9 of a writer between Alloc and commit: never readable, space reclaimed within allocated_timeout_ms', async () => {
    const { meta, client } = await stack(['--ock.mmc.allocated_timeout_ms=1500']);
    const writer = await startProcess({
      name: 'half-writer',
      command: 'node',
      args: [
        '--import',
        'tsx',
        '--conditions=@kvforge/source',
        'test/fixtures/half-writer.ts',
        meta.metaUrl,
        'torn',
        String(1 << 20),
      ],
      cwd: LOCAL_APP,
      readyWhen: { logLine: /half-written/ },
      readyTimeoutMs: 30_000,
    });
    cleanups.push(() => writer.stop());
    await writer.kill('SIGKILL');
    const used = async () => {
      let total = 0;
      for (const name of ['rank-0-dram', 'rank-1-dram']) {
        total += (
          (await (await fetch(`${meta.rest}/query_segment?segment=${name}`)).json()) as { used_bytes: number }
        ).used_bytes;
      }
      return total;
    };
    expect(await used()).toBe(1 << 20);
    await expect(client.get('torn')).rejects.toThrow();
    expect(await client.exists('torn')).toBe(false);
    await waitFor(async () => (await used()) === 0, { timeoutMs: 15_000, message: 'torn blob reclaimed' });
    expect(await allKeys(meta.rest)).not.toContain('torn');
    const value = valueFor(1, 1 << 20);
    await client.put('torn', value);
    expect(digest(await client.get('torn'))).toBe(digest(value));
  });

  it('SIGSTOP of a local service past its lease: the meta service drops the rank; after SIGCONT it exits 1', async () => {
    const { meta, locals, client } = await stack(['--ock.mmc.local_service.lease_ms=1500']);
    await client.put('on-1', Buffer.from('one'), { preferredRanks: [1] });
    const frozen = locals[1] as ManagedProcess;
    const impatient = await MemCacheClient.connect({
      metaUrl: meta.metaUrl,
      sharedMemory: false,
      transferTimeoutMs: 500,
    });
    cleanups.push(() => impatient.close());
    frozen.child.kill('SIGSTOP');
    try {
      // A read from the frozen rank fails instead of hanging: the transfer times out, or the meta service
      // has already dropped the key.
      await expect(impatient.get('on-1')).rejects.toThrow(/no reply for 500 ms|no such key/);
      await waitFor(
        async () => !(await (await fetch(`${meta.rest}/get_all_segments`)).text()).includes('rank-1'),
        {
          timeoutMs: 15_000,
          message: 'rank 1 dropped after its lease',
        },
      );
      expect(await client.exists('on-1')).toBe(false);
    } finally {
      frozen.child.kill('SIGCONT');
    }
    expect(await frozen.exited).toBe(1);
    expect(frozen.output()).toContain('meta service connection lost');
  });
});
