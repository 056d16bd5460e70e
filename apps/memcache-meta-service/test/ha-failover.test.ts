import { fileURLToPath } from 'node:url';
import { BLOB_ACTION, MEDIUM, MetaRpcClient, MMC } from '@kvforge/memcache-hybrid';
import {
  type EtcdProcess,
  getFreePort,
  type ManagedProcess,
  startEtcd,
  startProcess,
  waitFor,
} from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const appDirectory = fileURLToPath(new URL('..', import.meta.url));
const RUN_MAIN = ['--import', 'tsx', '--conditions=@kvforge/source', 'src/main.ts'];
const LEASE_SECONDS = 2;

interface Node {
  rpcPort: number;
  httpPort: number;
  process: ManagedProcess;
}

let etcd: EtcdProcess;
beforeAll(async () => {
  etcd = await startEtcd();
}, 60_000);
afterAll(async () => {
  await etcd?.stop();
});

async function spawn(ports: { rpcPort: number; httpPort: number }, key: string): Promise<Node> {
  const process = await startProcess({
    name: `memcache-meta-service:${ports.rpcPort}`,
    command: 'node',
    args: [
      ...RUN_MAIN,
      `--ock.mmc.meta_service_url=tcp://127.0.0.1:${ports.rpcPort}`,
      `--ock.mmc.meta_service.metrics_url=http://127.0.0.1:${ports.httpPort}`,
      '--ock.mmc.meta.ha.enable=true',
      `--ock.mmc.meta.ha.etcd_endpoints=${etcd.endpoint.replace('http://', '')}`,
      `--ock.mmc.meta.ha.lease_seconds=${LEASE_SECONDS}`,
      `--ock.mmc.mount=0:DRAM:64MB`,
      `--ock.mmc.meta.ha.election_key=${key}`,
      '--ock.mmc.log_level=warn',
    ],
    cwd: appDirectory,
    readyWhen: { port: ports.httpPort },
    readyTimeoutMs: 60_000,
  });
  return { ...ports, process };
}

async function startNode(key: string): Promise<Node> {
  return spawn({ rpcPort: await getFreePort(), httpPort: await getFreePort() }, key);
}

async function health(node: Node) {
  try {
    const response = await fetch(`http://127.0.0.1:${node.httpPort}/health`);
    return (await response.json()) as {
      role: string;
      ha_state: string;
      leader_address: string;
      view_version: number;
    };
  } catch {
    return undefined;
  }
}

/** Waits until `leader` reports leader and every other node reports standby naming it. */
async function settled(leader: Node, others: Node[]) {
  return waitFor(
    async () => {
      const views = await Promise.all([leader, ...others].map(health));
      const origin = `http://127.0.0.1:${leader.httpPort}`;
      const ok =
        views[0]?.role === 'leader' &&
        views.slice(1).every((view) => view?.role === 'standby') &&
        views.every(
          (view) => view?.leader_address === origin && view.view_version === views[0]?.view_version,
        );
      return ok ? views[0] : undefined;
    },
    { timeoutMs: 30_000, message: `node ${leader.httpPort} leading, the others standby` },
  );
}

async function electedOf(nodes: Node[]): Promise<{ leader: Node; standby: Node }> {
  return waitFor(
    async () => {
      const views = await Promise.all(nodes.map(health));
      const index = views.findIndex((view) => view?.role === 'leader');
      if (index < 0 || views.some((view, i) => i !== index && view?.role !== 'standby')) return undefined;
      return { leader: nodes[index]!, standby: nodes[1 - index]! };
    },
    { timeoutMs: 30_000, message: 'a leader elected' },
  );
}

/** Allocs on `node` until one succeeds; the time from `since` to that success. */
async function firstWrite(node: Node, key: string, since: number): Promise<number> {
  const client = await MetaRpcClient.connect(`tcp://127.0.0.1:${node.rpcPort}`);
  try {
    await waitFor(async () => (await client.alloc(key, 4096, 1, 0, MEDIUM.DRAM))[0] === MMC.OK, {
      timeoutMs: 30_000,
      intervalMs: 20,
      message: `a write accepted by ${node.rpcPort}`,
    });
    return Date.now() - since;
  } finally {
    await client.close();
  }
}

describe('meta service HA (real processes, real etcd)', () => {
  it('kill -9 of the leader: the standby serves within TTL + 3 s; the restarted node joins as standby; failover back', async () => {
    const key = `/test/failover-${Date.now()}`;
    const nodes = [await startNode(key), await startNode(key)];
    try {
      let { leader, standby } = await electedOf(nodes);
      const first = await settled(leader, [standby]);

      const refusing = await MetaRpcClient.connect(`tcp://127.0.0.1:${standby.rpcPort}`);
      expect(await refusing.alloc('early', 4096)).toEqual([
        MMC.NOT_LEADER,
        `tcp://127.0.0.1:${leader.rpcPort}`,
      ]);
      await refusing.close();

      for (let round = 0; round < 2; round++) {
        const killedAt = Date.now();
        await leader.process.kill('SIGKILL');
        const took = await firstWrite(standby, `after-kill-${round}`, killedAt);
        expect(took).toBeLessThan((LEASE_SECONDS + 3) * 1000);
        const restarted = await spawn(leader, key);
        nodes[nodes.indexOf(leader)] = restarted;
        const view = await settled(standby, [restarted]);
        expect(view!.view_version).toBeGreaterThan(first!.view_version);
        [leader, standby] = [standby, restarted];
      }
    } finally {
      await Promise.all(nodes.map((node) => node.process.stop()));
    }
  }, 180_000);

  it('a leader paused (SIGSTOP) past its lease steps down after SIGCONT and never serves a write', async () => {
    const key = `/test/pause-${Date.now()}`;
    const nodes = [await startNode(key), await startNode(key)];
    try {
      const { leader, standby } = await electedOf(nodes);
      const client = await MetaRpcClient.connect(`tcp://127.0.0.1:${leader.rpcPort}`);
      expect((await client.alloc('before', 4096, 1, 0, MEDIUM.DRAM))[0]).toBe(MMC.OK);
      expect(await client.updateState('before', 0, MEDIUM.DRAM, BLOB_ACTION.WRITE_OK)).toEqual([MMC.OK]);

      process.kill(leader.process.pid, 'SIGSTOP');
      try {
        await firstWrite(standby, 'while-paused', Date.now());
        // The request reaches the old leader's socket buffer while it is frozen: it is read first thing.
        const pending = client.alloc('stale-write', 4096, 1, 0, MEDIUM.DRAM).catch((error: Error) => error);
        process.kill(leader.process.pid, 'SIGCONT');
        const reply = await pending;
        // Refused (NOT_LEADER, the new leader named) or the connection dropped by the stepping-down node.
        if (Array.isArray(reply)) expect(reply[0]).toBe(MMC.NOT_LEADER);
        else expect(reply).toBeInstanceOf(Error);
      } finally {
        process.kill(leader.process.pid, 'SIGCONT');
      }
      await settled(standby, [leader]);
      const query = await (
        await fetch(`http://127.0.0.1:${leader.httpPort}/query_key?key=stale-write`)
      ).json();
      expect(query).toMatchObject({ success: false, error_message: 'Key not found' });
      await client.close();
    } finally {
      await Promise.all(nodes.map((node) => node.process.stop()));
    }
  }, 120_000);
});
