import { fileURLToPath } from 'node:url';
import { type ManagedProcess, type RedisProcess, startProcess, startRedis, waitFor } from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// Three group members on one source/target; POST /syncer/handover moves the input between them
// under live writes. Every acknowledged INCR must arrive exactly once.
// Everything written fits the source's backlog, so every takeover can resume with +CONTINUE.
const BACKLOG_BYTES = 64 * 1024 * 1024;
const MAX_INCRS = 300_000; // ~9 MB of stream
const script = fileURLToPath(new URL('./fixtures/syncer-process.ts', import.meta.url));
let source: RedisProcess;
let target: RedisProcess;
let sourceClient: Redis;
let targetClient: Redis;
let members: ManagedProcess[] = [];

beforeEach(async () => {
  [source, target] = await Promise.all([
    startRedis({ args: ['--repl-backlog-size', String(BACKLOG_BYTES)] }),
    startRedis(),
  ]);
  sourceClient = source.client();
  targetClient = target.client();
}, 60_000);

afterEach(async () => {
  await Promise.all(members.map((member) => member.stop()));
  members = [];
  sourceClient?.disconnect();
  targetClient?.disconnect();
  await Promise.all([source?.stop(), target?.stop()]);
});

function startMember(transaction: boolean): Promise<ManagedProcess> {
  return startProcess({
    name: 'group-member',
    command: process.execPath,
    args: [
      '--conditions=@kvforge/source',
      '--import',
      'tsx',
      script,
      source.address,
      target.address,
      String(transaction),
      'g1',
    ],
    readyWhen: { logLine: /syncer started/ },
    readyTimeoutMs: 30_000,
  });
}

function lastLine(member: ManagedProcess, prefix: string): string {
  return (
    member
      .output()
      .split('\n')
      .filter((line) => line.startsWith(prefix))
      .at(-1) ?? ''
  );
}

const role = (member: ManagedProcess): string => /role=(\w+)/.exec(lastLine(member, 'state '))?.[1] ?? '';
const ack = (member: ManagedProcess): number =>
  Number(/ack=(\d+)/.exec(lastLine(member, 'state '))?.[1] ?? 0);
const httpAddress = (member: ManagedProcess): string => lastLine(member, 'http ').slice('http '.length);

async function leaderOf(group: ManagedProcess[], other?: ManagedProcess): Promise<ManagedProcess> {
  let leader: ManagedProcess | undefined;
  await waitFor(
    () => {
      const leaders = group.filter((member) => role(member) === 'leader');
      leader = leaders.length === 1 && leaders[0] !== other ? leaders[0] : undefined;
      return (
        leader !== undefined && group.every((member) => member === leader || role(member) === 'follower')
      );
    },
    { timeoutMs: 60_000, message: other ? 'another member leads' : 'one leader, the rest followers' },
  );
  return leader as ManagedProcess;
}

async function handover(member: ManagedProcess): Promise<number> {
  const response = await fetch(`http://${httpAddress(member)}/syncer/handover?inputs=all`, {
    method: 'POST',
  });
  return response.status;
}

async function sourceOffset(): Promise<number> {
  const info = await sourceClient.info('replication');
  return Number(/master_repl_offset:(\d+)/.exec(info)?.[1]);
}

describe.each([
  { mode: 'transaction', transaction: true },
  { mode: 'plain', transaction: false },
])('HA group ($mode): cluster.groupName, election through the target lease, handover', ({ transaction }) => {
  it('handover under live writes moves the input to another member; every acknowledged INCR arrives once', async () => {
    const group = await Promise.all([
      startMember(transaction),
      startMember(transaction),
      startMember(transaction),
    ]);
    members.push(...group);
    await sourceClient.set('seed', 'x');
    const first = await leaderOf(members);
    await waitFor(async () => (await targetClient.get('seed')) === 'x', { timeoutMs: 60_000 });

    // A follower has nothing to hand over: 200, and the leader stays.
    const follower = members.find((member) => member !== first) as ManagedProcess;
    expect(await handover(follower)).toBe(200);
    expect(role(first)).toBe('leader');

    let writing = true;
    let acknowledged = 0;
    const writes = (async () => {
      while (writing && acknowledged < MAX_INCRS) {
        const pipeline = sourceClient.pipeline();
        for (let i = 0; i < 100; i++) pipeline.incr('counter');
        await pipeline.exec();
        acknowledged += 100;
      }
    })();
    await waitFor(() => acknowledged >= 2_000, { timeoutMs: 30_000 });

    expect(await handover(first)).toBe(200);
    const second = await leaderOf(members, first);
    await waitFor(() => acknowledged >= 6_000, { timeoutMs: 30_000 });
    expect(await handover(second)).toBe(200);
    const third = await leaderOf(members, second);
    await waitFor(() => acknowledged >= 10_000, { timeoutMs: 30_000 });
    writing = false;
    await writes;

    const offset = await sourceOffset();
    expect(offset).toBeLessThan(BACKLOG_BYTES); // the premise of the +CONTINUE check below
    await waitFor(() => ack(third) >= offset, { timeoutMs: 60_000, message: 'the last leader applied all' });
    expect(Number(await targetClient.get('counter'))).toBe(acknowledged);
    // Each takeover resumed from the previous leader's checkpoint (+CONTINUE): one full sync in all.
    const stats = await sourceClient.info('stats');
    expect(Number(/sync_full:(\d+)/.exec(stats)?.[1])).toBe(1);
  }, 180_000);
});
