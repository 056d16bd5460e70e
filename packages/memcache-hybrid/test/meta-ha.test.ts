import { randomUUID } from 'node:crypto';
import { SILENT_LOGGER } from '@kvforge/runtime';
import { type EtcdProcess, startEtcd, waitFor } from '@kvforge/testing';
import type { FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIUM, MetaRpcClient, type MetaServiceServer, MMC, startMetaServiceServer } from '../src/index';

const logger = { ...SILENT_LOGGER, fatal: () => undefined, trace: () => undefined, level: 'silent' };
const quietLogger = { ...logger, child: () => quietLogger } as unknown as FastifyBaseLogger;

let etcd: EtcdProcess;
beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterAll(async () => {
  await etcd?.stop();
});

const LEASE_SECONDS = 2;

async function startPair(key: string): Promise<MetaServiceServer[]> {
  const ha = { etcdEndpoints: etcd.endpoints, leaseSeconds: LEASE_SECONDS, key };
  return Promise.all(
    [0, 1].map(() =>
      startMetaServiceServer({
        rpcUrl: 'tcp://127.0.0.1:0',
        restUrl: 'http://127.0.0.1:0',
        logger: quietLogger,
        mounts: [{ rank: 0, medium: MEDIUM.DRAM, bytes: 1 << 20 }],
        ha,
      }),
    ),
  );
}

async function health(server: MetaServiceServer) {
  const response = await fetch(`http://127.0.0.1:${server.rest.port}/health`);
  return (await response.json()) as {
    role: string;
    ha_state: string;
    leader_address: string;
    view_version: number;
  };
}

async function leaderOf(servers: MetaServiceServer[]) {
  return waitFor(
    async () => {
      const views = await Promise.all(servers.map(health));
      const leaders = views.filter((view) => view.role === 'leader');
      const standbys = views.filter((view) => view.role === 'standby');
      if (leaders.length !== 1 || standbys.length !== servers.length - 1) return undefined;
      return { server: servers[views.indexOf(leaders[0]!)]!, views };
    },
    { timeoutMs: 30_000, message: 'one leader and the rest standby' },
  );
}

describe('meta service HA (etcd lease)', () => {
  it('elects one leader; the standby refuses RPC and REST writes and names the leader', async () => {
    const servers = await startPair(`/test/${randomUUID()}`);
    try {
      const { server: leader, views } = await leaderOf(servers);
      const standby = servers.find((server) => server !== leader)!;
      // Both nodes report the same leader and view.
      for (const view of views) {
        expect(view.leader_address).toBe(leader.advertisedOrigin);
        expect(view.view_version).toBeGreaterThan(0);
      }
      expect(views[0]!.view_version).toBe(views[1]!.view_version);

      const standbyClient = await MetaRpcClient.connect(`tcp://127.0.0.1:${standby.rpc.port}`);
      const refused = await standbyClient.alloc('k', 4096);
      expect(refused).toEqual([MMC.NOT_LEADER, `tcp://127.0.0.1:${leader.rpc.port}`]);
      expect(standby.service.getAllKeys()).toEqual([]);
      await standbyClient.close();

      const leaderClient = await MetaRpcClient.connect(`tcp://127.0.0.1:${leader.rpc.port}`);
      expect((await leaderClient.alloc('k', 4096))[0]).toBe(MMC.OK);
      await leaderClient.close();

      const refusedRest = await fetch(`http://127.0.0.1:${standby.rest.port}/all_keys`, { method: 'DELETE' });
      expect(refusedRest.status).toBe(200);
      expect(await refusedRest.json()).toMatchObject({
        success: false,
        error_message: `Not leader: the leader is ${leader.advertisedOrigin}`,
      });
      const role = await fetch(`http://127.0.0.1:${standby.rest.port}/role`);
      expect(await role.text()).toBe('standby');
      const haStatus = await fetch(`http://127.0.0.1:${standby.rest.port}/ha_status`);
      expect(await haStatus.text()).toBe('standby');
      const leaderView = await fetch(`http://127.0.0.1:${leader.rest.port}/leader`);
      expect(await leaderView.json()).toEqual({
        present: true,
        leader_address: leader.advertisedOrigin,
        view_version: views[0]!.view_version,
      });
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  }, 60_000);

  it('a closed leader hands over: the standby leads with a higher view_version', async () => {
    const servers = await startPair(`/test/${randomUUID()}`);
    try {
      const first = await leaderOf(servers);
      const standby = servers.find((server) => server !== first.server)!;
      await first.server.close();
      const next = await leaderOf([standby]);
      expect(next.views[0]!.view_version).toBeGreaterThan(first.views[0]!.view_version);
      const client = await MetaRpcClient.connect(`tcp://127.0.0.1:${standby.rpc.port}`);
      expect((await client.alloc('after', 4096))[0]).toBe(MMC.OK);
      await client.close();
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  }, 60_000);
  it('a leader that cannot reach etcd stops serving within its lease; a leader is back once etcd is', async () => {
    const servers = await startPair(`/test/${randomUUID()}`);
    try {
      const { server: leader } = await leaderOf(servers);
      const client = await MetaRpcClient.connect(`tcp://127.0.0.1:${leader.rpc.port}`);
      expect((await client.alloc('before', 4096))[0]).toBe(MMC.OK);
      await client.close();
      const frozenAt = Date.now();
      process.kill(etcd.process.pid, 'SIGSTOP');
      try {
        // No renewal can be confirmed: the deadline (last confirmed renewal + TTL - margin) ends the leadership.
        await waitFor(() => servers.every((server) => !server.election?.isServing()), {
          timeoutMs: 30_000,
          message: 'nobody serving while etcd is frozen',
        });
        expect(Date.now() - frozenAt).toBeLessThan(LEASE_SECONDS * 1000 + 5_000);
        const refused = await MetaRpcClient.connect(`tcp://127.0.0.1:${leader.rpc.port}`);
        expect((await refused.alloc('during', 4096))[0]).toBe(MMC.NOT_LEADER);
        await refused.close();
        expect((await health(leader)).role).not.toBe('leader');
      } finally {
        process.kill(etcd.process.pid, 'SIGCONT');
      }
      await leaderOf(servers);
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  }, 90_000);
});
