import { createHash } from 'node:crypto';
import { MemCacheClient } from '@kvforge/memcache-hybrid';
import {
  type EtcdProcess,
  type ManagedProcess,
  seededRandom,
  startEtcd,
  startProcess,
  waitFor,
} from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaMetaProcess, LOCAL_APP, RUN_MAIN, startHaMeta } from './stack';

const LEASE_SECONDS = 2;
const digest = (value: Buffer) => createHash('sha256').update(value).digest('hex');

type Meta = HaMetaProcess;

let etcd: EtcdProcess;
beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterAll(async () => {
  await etcd?.stop();
});

const startMeta = (key: string, ports?: { rpcPort: number; httpPort: number }): Promise<Meta> =>
  startHaMeta(etcd.endpoint, key, LEASE_SECONDS, ports);

async function role(meta: Meta): Promise<string | undefined> {
  try {
    return await (await fetch(`http://127.0.0.1:${meta.httpPort}/role`)).text();
  } catch {
    return undefined;
  }
}

async function leaderView(meta: Meta) {
  return (await (await fetch(`http://127.0.0.1:${meta.httpPort}/leader`)).json()) as {
    leader_address: string;
    view_version: number;
  };
}

describe('HA failover with real processes: two meta services, two local services, etcd', () => {
  it('kill -9 of the leader during puts and gets, twice: the standby serves within TTL + 3 s with every committed object', async () => {
    const key = `/test/ha-${Date.now()}`;
    const metas = [await startMeta(key), await startMeta(key)];
    const locals: ManagedProcess[] = [];
    let client: MemCacheClient | undefined;
    try {
      const leader = await waitFor(
        async () => {
          const roles = await Promise.all(metas.map(role));
          return roles.includes('leader') && roles.includes('standby')
            ? metas[roles.indexOf('leader')]
            : undefined;
        },
        { timeoutMs: 30_000, message: 'a leader and a standby' },
      );
      const standby = metas.find((meta) => meta !== leader) as Meta;
      const metaUrl = metas.map((meta) => `tcp://127.0.0.1:${meta.rpcPort}`).join(',');
      for (const rank of [0, 1]) {
        locals.push(
          await startProcess({
            name: `memcache-local-service rank ${rank}`,
            command: 'node',
            args: [
              ...RUN_MAIN,
              '--rank',
              String(rank),
              `--ock.mmc.meta_service_url=${metaUrl}`,
              '--ock.mmc.local_service.dram.size=64MB',
            ],
            cwd: LOCAL_APP,
            readyWhen: {
              check: async () => {
                const segments = await (
                  await fetch(`http://127.0.0.1:${leader.httpPort}/get_all_segments`)
                ).text();
                return segments.includes(`rank-${rank}-`);
              },
            },
            readyTimeoutMs: 60_000,
          }),
        );
      }
      client = await MemCacheClient.connect({ metaUrl });
      const random = seededRandom(1414);
      const committed = new Map<string, string>();
      const attempted = new Map<string, string>();
      let next = 0;
      let current = { leader, standby };

      // Two failovers: the first leader is killed, restarted as standby, then the second one is killed.
      for (let round = 0; round < 2; round++) {
        const { leader: victim, standby: heir } = current;
        const before = await leaderView(heir);
        const target = committed.size + 200;
        let killedAt = 0;
        let firstPutAfterKill = 0;
        let stop = false;
        // A mixed workload runs across the kill; only puts that resolved count as committed.
        const workload = (async () => {
          while (!stop) {
            const i = next++;
            const value = Buffer.alloc(1 + Math.floor(random() * 32 * 1024), i % 251);
            value.writeUInt32LE(i, 0);
            const name = `obj-${i}`;
            attempted.set(name, digest(value));
            try {
              await client!.put(name, value, { replicas: 1 + (i % 2) });
              committed.set(name, digest(value));
              if (killedAt > 0 && firstPutAfterKill === 0) firstPutAfterKill = Date.now();
              const sample = [...committed.keys()][Math.floor(random() * committed.size)] as string;
              expect(digest(await client!.get(sample))).toBe(committed.get(sample));
            } catch {
              // A put in flight at the kill may fail; it must then be absent or whole (checked below).
            }
            if (firstPutAfterKill > 0 && committed.size > target + 100) stop = true;
          }
        })();
        await waitFor(() => committed.size >= target, {
          timeoutMs: 60_000,
          message: `${target} objects committed`,
        });
        killedAt = Date.now();
        await victim.process.kill('SIGKILL');
        await workload;
        expect(firstPutAfterKill - killedAt).toBeLessThan((LEASE_SECONDS + 3) * 1000);

        expect(await role(heir)).toBe('leader');
        const after = await leaderView(heir);
        expect(after.leader_address).toBe(`http://127.0.0.1:${heir.httpPort}`);
        expect(after.view_version).toBeGreaterThan(before.view_version);
        for (const [name, expected] of committed) expect(digest(await client.get(name)), name).toBe(expected);
        // Never half-visible: a put that failed is either absent or readable whole.
        for (const [name, expected] of attempted) {
          if (committed.has(name)) continue;
          const value = await client.get(name).catch(() => undefined);
          if (value) expect(digest(value), name).toBe(expected);
        }

        // The killed node comes back as a standby of the new leader.
        const restarted = await startMeta(key, victim);
        metas[metas.indexOf(victim)] = restarted;
        await waitFor(async () => (await role(restarted)) === 'standby', {
          timeoutMs: 30_000,
          message: 'standby',
        });
        expect((await leaderView(restarted)).leader_address).toBe(`http://127.0.0.1:${heir.httpPort}`);
        current = { leader: heir, standby: restarted };
      }
    } finally {
      await client?.close();
      for (const local of locals) await local.stop();
      for (const meta of metas) await meta.process.stop();
    }
  }, 240_000);
});
