import { type EtcdProcess, startEtcd, waitFor } from '@kvforge/testing';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdLeadership, type EtcdLeadershipOptions } from '../src/config-server/etcd-leadership';

type Role = { isMaster: boolean; master: string };
const WAIT = { timeoutMs: 60_000 };

describe('EtcdLeadership with a real etcd', () => {
  let etcd: EtcdProcess;
  const clients: Etcd3[] = [];
  const nodes: EtcdLeadership[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    for (const client of clients) client.close();
    await etcd?.stop();
  });

  function node(
    self: string,
    electionName: string,
    roles: Map<string, Role>,
    onRole?: EtcdLeadershipOptions['onRole'],
  ): EtcdLeadership {
    const client = new Etcd3({ hosts: etcd.endpoints });
    clients.push(client);
    const leadership = new EtcdLeadership({
      client,
      self,
      electionName,
      retryMs: 20,
      onRole:
        onRole ??
        ((isMaster, master) => {
          roles.set(self, { isMaster, master });
        }),
    });
    nodes.push(leadership);
    return leadership;
  }

  /** The master's name when exactly one node is master and the other names it. */
  function agreedMaster(roles: Map<string, Role>): string | undefined {
    const [a, b] = [roles.get('a'), roles.get('b')];
    if (a?.isMaster && b?.isMaster === false && b.master === 'a') return 'a';
    if (b?.isMaster && a?.isMaster === false && a.master === 'b') return 'b';
    return undefined;
  }

  // etcd3's ElectionObserver named the newest key of a watch batch: with both campaigns' keys in one
  // batch, both nodes named the later candidate while the earlier one won, and nobody became master
  // (18 of 20 rounds in-process; the CI flake of config-server-ha-etcd's beforeAll).
  it('two nodes started at once: one is master and the other names it, every round', async () => {
    for (let round = 0; round < 10; round++) {
      const roles = new Map<string, Role>();
      const pair = [node('a', `together-${round}`, roles), node('b', `together-${round}`, roles)];
      await Promise.all(pair.map((leadership) => leadership.start()));
      const master = await waitFor(() => agreedMaster(roles), {
        ...WAIT,
        message: `round ${round}: one master named by the other (${JSON.stringify([...roles])})`,
      });
      expect(['a', 'b']).toContain(master);
      await Promise.all(pair.map((leadership) => leadership.stop()));
    }
  }, 300_000);

  it('a failing role change of the elected node is retried until it succeeds', async () => {
    const roles = new Map<string, Role>();
    let failures = 0;
    const single = node('a', 'retry', roles, (isMaster, master) => {
      if (isMaster && failures < 3) {
        failures++;
        throw new Error('etcd read timed out');
      }
      roles.set('a', { isMaster, master });
    });
    await single.start();
    await waitFor(() => roles.get('a')?.isMaster === true, { ...WAIT, message: 'master after retries' });
    expect(failures).toBe(3);
    await single.stop();
  }, 120_000);

  it('the master resigns: the other node becomes master', async () => {
    const roles = new Map<string, Role>();
    const first = node('a', 'handover', roles);
    await first.start();
    await waitFor(() => roles.get('a')?.isMaster === true, { ...WAIT, message: 'a is master' });
    const second = node('b', 'handover', roles);
    await second.start();
    await waitFor(() => roles.get('b')?.master === 'a', { ...WAIT, message: 'b names a' });
    expect(roles.get('b')?.isMaster).toBe(false);
    await first.stop();
    await waitFor(() => roles.get('b')?.isMaster === true, { ...WAIT, message: 'b takes over' });
    await second.stop();
  }, 120_000);
});
