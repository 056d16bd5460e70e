import { fileURLToPath } from 'node:url';
import { loadConfig } from '@kvforge/common-http';
import { type ManagedProcess, type RedisProcess, startProcess, startRedis, waitFor } from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunyuConfigSchema } from '../src/config/config-schema';
import { leaseKeys } from '../src/fencing/target-lease';
import { SyncService } from '../src/sync-service';

const script = fileURLToPath(new URL('./fixtures/syncer-process.ts', import.meta.url));
let source: RedisProcess;
let target: RedisProcess;
let sourceClient: Redis;
let targetClient: Redis;
const processes: ManagedProcess[] = [];

beforeAll(async () => {
  [source, target] = await Promise.all([startRedis(), startRedis()]);
  sourceClient = source.client();
  targetClient = target.client();
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((process) => process.stop()));
  sourceClient?.disconnect();
  targetClient?.disconnect();
  await Promise.all([source?.stop(), target?.stop()]);
});

function startSyncer(): Promise<ManagedProcess> {
  return startProcess({
    name: 'syncer',
    command: process.execPath,
    args: ['--conditions=@kvforge/source', '--import', 'tsx', script, source.address, target.address, 'true'],
    readyWhen: { logLine: /syncer started/ },
    readyTimeoutMs: 30_000,
  });
}

interface Reported {
  role: string;
  full: number;
  incr: number;
  ack: number;
}

function lastStatus(syncer: ManagedProcess): Reported {
  const last =
    syncer
      .output()
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('state '))
      .at(-1) ?? '';
  const field = (name: string): number => Number(new RegExp(`${name}=(\\d+)`).exec(last)?.[1] ?? 0);
  return {
    role: /role=(\w+)/.exec(last)?.[1] ?? '',
    full: field('full'),
    incr: field('incr'),
    ack: field('ack'),
  };
}

async function incr(client: Redis, key: string, count: number): Promise<void> {
  for (let done = 0; done < count; done += 100) {
    const pipeline = client.pipeline();
    for (let i = 0; i < 100; i++) pipeline.incr(key);
    await pipeline.exec();
  }
}

async function sourceOffset(): Promise<number> {
  const info = await sourceClient.info('replication');
  return Number(/master_repl_offset:(\d+)/.exec(info)?.[1]);
}

describe('fencing: two processes with the same config, no group', () => {
  it('only one applies: 20 000 INCRs give 20 000; kill -9 of the leader lets the other take over', async () => {
    await sourceClient.set('seed', 'x');
    processes.push(await startSyncer(), await startSyncer());
    const [a, b] = processes as [ManagedProcess, ManagedProcess];
    await waitFor(() => [lastStatus(a).role, lastStatus(b).role].sort().join() === 'follower,leader', {
      timeoutMs: 60_000,
      message: 'one leader and one follower',
    });
    await waitFor(async () => (await targetClient.get('seed')) === 'x', { timeoutMs: 60_000 });
    const leader = lastStatus(a).role === 'leader' ? a : b;
    const follower = leader === a ? b : a;
    // The follower never connected to the source as a replica: one full sync in all.
    expect(lastStatus(follower)).toMatchObject({ role: 'follower', full: 0, incr: 0 });
    await incr(sourceClient, 'counter', 10_000);
    const offset = await sourceOffset();
    await waitFor(() => lastStatus(leader).ack >= offset, { timeoutMs: 60_000, message: 'leader applied' });
    expect(await targetClient.get('counter')).toBe('10000');

    // Writes go on while the leader dies; the follower takes over once the lease expired.
    const writes = incr(sourceClient, 'counter', 10_000);
    await leader.kill('SIGKILL');
    await writes;
    const finalOffset = await sourceOffset();
    await waitFor(() => lastStatus(follower).role === 'leader' && lastStatus(follower).ack >= finalOffset, {
      timeoutMs: 60_000,
      message: 'follower took over and caught up',
    });
    expect(await targetClient.get('counter')).toBe('20000');
    // It resumed from the dead leader's checkpoint (+CONTINUE), not with a new full sync.
    expect(lastStatus(follower)).toMatchObject({ full: 0, incr: 1 });
    const stats = await sourceClient.info('stats');
    expect(Number(/sync_full:(\d+)/.exec(stats)?.[1])).toBe(1);
  }, 180_000);
});

describe.each([
  { transaction: true, key: 'fenced-tx' },
  { transaction: false, key: 'fenced-plain' },
])('fencing: the per-batch owner check (transaction $transaction)', ({ transaction, key }) => {
  it('a leader whose lease was taken stops at its next batch, takes over when the lease is gone', async () => {
    // Renewal is slow here so that only the owner check inside the batch can notice the intruder.
    const config = loadConfig(gunyuConfigSchema, [
      {
        input: { redis: { addresses: [source.address] } },
        output: { redis: { addresses: [target.address] }, replay: { replayTransaction: transaction } },
        cluster: { leaseTimeout: '30s', leaseRenewInterval: '5s' },
      },
    ]);
    await Promise.all(processes.splice(0).map((process) => process.stop()));
    const service = new SyncService(config, undefined, { syncer: { reconnectBackoffMs: 100 } });
    const checkpointName = (): string => service.syncers[0]?.options.replay.checkpointName ?? '';
    try {
      service.start();
      await sourceClient.set(`${key}-probe`, '1');
      await waitFor(async () => (await targetClient.get(`${key}-probe`)) === '1', { timeoutMs: 60_000 });
      expect(service.status()[0]?.Role).toBe('leader');
      // An intruder owns the lease (a split brain): the running leader's next batch must be refused.
      const { lease } = leaseKeys(checkpointName(), source.address);
      await targetClient.set(lease, 'intruder', 'PX', 600_000);
      await sourceClient.incr(key);
      await waitFor(() => service.status()[0]?.Role === 'follower', {
        timeoutMs: 30_000,
        message: 'leader stepped down',
      });
      // The batch check or a renewal that came first (a slow, loaded box) may notice the intruder: both stop it.
      expect(service.syncers[0]?.lastError).toMatch(
        /refused by fencing: FENCED lease held by intruder|another process took the lease/,
      );
      // Transaction mode: the refused batch was not applied. Plain batches: the check follows the
      // batch, so that one batch was (a known gap, see README).
      if (transaction) expect(await targetClient.get(key)).toBeNull();
      await targetClient.del(lease);
      await waitFor(
        async () => service.status()[0]?.Role === 'leader' && (await targetClient.get(key)) !== null,
        {
          timeoutMs: 60_000,
          message: 'applied after the takeover',
        },
      );
      if (transaction) expect(await targetClient.get(key)).toBe('1');
      expect(service.status()[0]?.Role).toBe('leader');
      // A stopped leader releases its lease.
      await service.stop();
      expect(await targetClient.exists(leaseKeys(checkpointName(), source.address).lease)).toBe(0);
    } finally {
      await service.stop();
    }
  }, 180_000);
});

describe('fencing: the renewal notices a lost lease', () => {
  it('an idle leader steps down at its next renewal, its session ends, and it takes over when the lease is gone', async () => {
    // No write between the intrusion and the step-down: only the renewal can notice. The session it
    // closes must end (it used to wait forever on a spool the close had dropped, never leading again).
    const config = loadConfig(gunyuConfigSchema, [
      {
        input: { redis: { addresses: [source.address] } },
        output: { redis: { addresses: [target.address] }, replay: { replayTransaction: false } },
        cluster: { leaseTimeout: '30s', leaseRenewInterval: '1s' },
      },
    ]);
    await Promise.all(processes.splice(0).map((process) => process.stop()));
    const service = new SyncService(config, undefined, { syncer: { reconnectBackoffMs: 100 } });
    const lease = (): string =>
      leaseKeys(service.syncers[0]?.options.replay.checkpointName ?? '', source.address).lease;
    try {
      service.start();
      await sourceClient.set('renewal-probe', '1');
      await waitFor(async () => (await targetClient.get('renewal-probe')) === '1', { timeoutMs: 60_000 });
      await targetClient.set(lease(), 'intruder', 'PX', 600_000);
      await waitFor(() => service.status()[0]?.Role === 'follower', {
        timeoutMs: 30_000,
        message: 'leader stepped down at its renewal',
      });
      expect(service.syncers[0]?.lastError).toMatch(/another process took the lease/);
      await targetClient.del(lease());
      await sourceClient.set('renewal-after', '2');
      await waitFor(async () => (await targetClient.get('renewal-after')) === '2', {
        timeoutMs: 60_000,
        message: 'applied after the takeover',
      });
      expect(service.status()[0]?.Role).toBe('leader');
    } finally {
      await service.stop();
    }
  }, 180_000);
});
