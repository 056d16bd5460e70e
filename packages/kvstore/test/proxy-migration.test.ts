import { startRedis } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { murmurHash2 } from '../src/core/murmur-hash2';
import { type KvstoreCluster, startKvstoreCluster } from './kvstore-fixture';

describe('online scale-out through the proxy (data_store)', () => {
  let cluster: KvstoreCluster;
  beforeAll(async () => {
    cluster = await startKvstoreCluster({ backends: 2 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('moves buckets to a new master while clients read and write, without a wrong answer', async () => {
    const added = await startRedis();
    try {
      const client = cluster.client();
      const keys = Array.from({ length: 2000 }, (_, index) => `m:${index}`);
      const expected = new Map<string, string>();
      for (let offset = 0; offset < keys.length; offset += 200) {
        const batch = keys.slice(offset, offset + 200);
        await client.mset(...batch.flatMap((key) => [key, `v0-${key}`]));
        for (const key of batch) expected.set(key, `v0-${key}`);
      }
      const started = await cluster.cs('scale_data_store', {
        namespace: 'test',
        action: 'add',
        addr: added.address,
      });
      expect(started.code).toBe(1001);
      // Load during the migration: every read must see the last write.
      let round = 0;
      let mismatches = 0;
      while (cluster.migrator.status('test').state === 'running' && round < 400) {
        round++;
        const key = keys[(round * 37) % keys.length]!;
        const value = `v${round}-${key}`;
        expect(await client.set(key, value)).toBe('OK');
        expected.set(key, value);
        const check = keys[(round * 53) % keys.length]!;
        if ((await client.get(check)) !== expected.get(check)) mismatches++;
        if (round % 10 === 0) {
          const sample = keys.slice(round % 1900, (round % 1900) + 20);
          const values = await client.mget(...sample);
          sample.forEach((sampleKey, index) => {
            if (values[index] !== expected.get(sampleKey)) mismatches++;
          });
        }
      }
      // The checks above really ran while buckets were moving.
      expect(round).toBeGreaterThan(5);
      const done = await cluster.migrator.wait('test');
      expect(done.state).toBe('success');
      expect(mismatches).toBe(0);
      const table = cluster.proxy.currentTable!;
      expect(table.owners.filter((owner) => owner === added.address).length).toBe(85);
      for (const key of keys) expect(await client.get(key)).toBe(expected.get(key));
      // Every key sits on the owner the final table names.
      const raw = added.client();
      for (const key of keys) {
        const bucket = murmurHash2(Buffer.from(key)) % 256;
        expect(await raw.exists(`${bucket}_${key}`)).toBe(table.owners[bucket] === added.address ? 1 : 0);
      }
      raw.disconnect();
    } finally {
      await added.stop();
    }
  }, 120_000);
});
