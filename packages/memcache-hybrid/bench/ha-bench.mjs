// memcache-hybrid HA benchmark (third part of `pnpm bench`; after `pnpm -F @kvforge/memcache-hybrid build`):
// etcd, two meta-service processes (ha-meta-child.mjs, lease 2 s), two local services and the client in this
// process. 100 000 objects of 4 KiB are put, the leader is killed with -9, and we time: kill → the standby
// reports leader, → every object rebuilt from the local services' blob maps, → the first successful put. Also
// restoreRank alone for 100 000 records (in-process) with the longest event-loop stall during it.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  MEDIUM,
  MemCacheClient,
  MetaService,
  startLocalService,
  startMetaServiceServer,
} from '../dist/index.js';

const OBJECTS = 100_000;
const LEASE_SECONDS = 2;
const META_CHILD = fileURLToPath(new URL('./ha-meta-child.mjs', import.meta.url));
const children = [];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let nextPort = 21_000 + Math.floor(Math.random() * 4000);
const port = () => nextPort++;

async function until(check, what, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function run(command, args) {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  return child;
}

const role = async (http) => (await fetch(`http://127.0.0.1:${http}/role`)).text();

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'mmc-ha-bench-'));
  const etcdPort = port();
  const peerPort = port();
  run('etcd', [
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    `http://127.0.0.1:${etcdPort}`,
    '--advertise-client-urls',
    `http://127.0.0.1:${etcdPort}`,
    '--listen-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-cluster',
    `default=http://127.0.0.1:${peerPort}`,
    '--log-level',
    'error',
  ]);
  await until(
    async () => (await (await fetch(`http://127.0.0.1:${etcdPort}/health`)).json()).health === 'true',
    'etcd',
  );
  const metas = [0, 1].map(() => ({ rpc: port(), http: port() }));
  for (const meta of metas) {
    meta.child = run(process.execPath, [
      ...process.execArgv,
      META_CHILD,
      String(meta.rpc),
      String(meta.http),
      `http://127.0.0.1:${etcdPort}`,
      String(LEASE_SECONDS),
      '/kvforge/memcache-hybrid/bench-leader',
    ]);
  }
  const leader = await until(async () => {
    const roles = await Promise.all(metas.map((meta) => role(meta.http)));
    return roles.includes('standby') ? metas[roles.indexOf('leader')] : undefined;
  }, 'a leader');
  const standby = metas.find((meta) => meta !== leader);
  const metaUrl = metas.map((meta) => `tcp://127.0.0.1:${meta.rpc}`).join(',');
  const locals = [
    await startLocalService({ rank: 0, metaUrl, dramBytes: 512 * 1024 * 1024 }),
    await startLocalService({ rank: 1, metaUrl, dramBytes: 512 * 1024 * 1024 }),
  ];
  const client = await MemCacheClient.connect({ metaUrl });
  const value = Buffer.alloc(4096, 7);
  const putStart = performance.now();
  for (let i = 0; i < OBJECTS; i += 64) {
    const items = [];
    for (let j = i; j < Math.min(OBJECTS, i + 64); j++) items.push({ key: `obj-${j}`, value });
    await client.batchPut(items);
  }
  const putSeconds = (performance.now() - putStart) / 1000;

  const killedAt = performance.now();
  leader.child.kill('SIGKILL');
  await until(async () => (await role(standby.http)) === 'leader', 'the standby leading');
  const elected = performance.now() - killedAt;
  // Segments show at the start of a re-mount; the rebuild is done when every object is back.
  await until(async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${standby.http}/metrics`)).text();
    return Number(/^memcache_stored_keys (\d+)$/m.exec(metrics)?.[1]) >= OBJECTS;
  }, 'every object rebuilt');
  const rebuilt = performance.now() - killedAt;
  await until(async () => {
    await client.put(`after-${Date.now()}`, value);
    return true;
  }, 'a put on the new leader');
  const firstPut = performance.now() - killedAt;
  const keys =
    (await (await fetch(`http://127.0.0.1:${standby.http}/get_all_keys`)).text()).split('\n').length - 1;

  // restoreRank alone: 100 000 records on one rank, the engine only.
  const service = new MetaService();
  service.mount(0, MEDIUM.DRAM, 1024 * 1024 * 1024);
  const records = Array.from({ length: OBJECTS }, (_, i) => [`obj-${i}`, 4096, MEDIUM.DRAM, i * 4096]);
  service.unmount(0, MEDIUM.DRAM);
  // The longest the event loop went without running a 1 ms interval during the restore.
  let lastTick = performance.now();
  let longestStallMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longestStallMs = Math.max(longestStallMs, now - lastTick);
    lastTick = now;
  }, 1);
  await sleep(5);
  lastTick = performance.now();
  const restoreStart = performance.now();
  await service.mountLocal(
    { rank: 0, host: '127.0.0.1', port: 1, segments: [{ medium: MEDIUM.DRAM, capacity: 1024 ** 3 }] },
    records,
  ).restoring;
  const restoreMs = performance.now() - restoreStart;
  await sleep(5);
  clearInterval(ticker);

  await client.close();
  for (const local of locals) await local.close();

  // The cost of HA on the commit path (one BLOB_RECORD push per committed blob): batch puts of 4 KiB with and
  // without HA, meta service and local services in this process, same box, alternating, median of 3.
  const silent = { level: 'silent', fatal() {}, error() {}, warn() {}, info() {}, debug() {}, trace() {} };
  silent.child = () => silent;
  const rate = async (ha) => {
    const meta = await startMetaServiceServer({
      rpcUrl: 'tcp://127.0.0.1:0',
      restUrl: 'http://127.0.0.1:0',
      logger: silent,
      ...(ha
        ? {
            ha: {
              etcdEndpoints: [`http://127.0.0.1:${etcdPort}`],
              leaseSeconds: 10,
              key: `/bench/${Math.random()}`,
            },
          }
        : {}),
    });
    if (ha) await until(() => meta.election.isServing(), 'in-process leader');
    const url = `tcp://127.0.0.1:${meta.rpc.port}`;
    const pair = ha ? `${url},${url}` : url;
    const ls = [
      await startLocalService({ rank: 0, metaUrl: pair, dramBytes: 256 * 1024 * 1024 }),
      await startLocalService({ rank: 1, metaUrl: pair, dramBytes: 256 * 1024 * 1024 }),
    ];
    const c = await MemCacheClient.connect({ metaUrl: url });
    const started = performance.now();
    const total = 20_000;
    for (let i = 0; i < total; i += 256) {
      const batches = [];
      for (let b = i; b < Math.min(total, i + 256); b += 32) {
        const items = [];
        for (let j = b; j < Math.min(total, b + 32); j++) items.push({ key: `k-${j}`, value });
        batches.push(c.batchPut(items, { replicas: 2 }));
      }
      await Promise.all(batches);
    }
    const kvs = total / ((performance.now() - started) / 1000);
    await c.close();
    for (const local of ls) await local.close();
    await meta.close();
    return kvs;
  };
  const plain = [];
  const withHa = [];
  for (let run = 0; run < 3; run++) {
    plain.push(await rate(false));
    withHa.push(await rate(true));
  }
  const median = (values) => [...values].sort((a, b) => a - b)[1];
  const lines = [
    `memcache-hybrid HA, one run, Node ${process.version}; lease ${LEASE_SECONDS} s; ${OBJECTS} objects of 4 KiB`,
    '',
    '| measure | value |',
    '| --- | ---: |',
    `| put ${OBJECTS} × 4 KiB (batches of 64), s | ${putSeconds.toFixed(1)} |`,
    `| kill -9 → standby reports leader, ms | ${elected.toFixed(0)} |`,
    `| kill -9 → every object rebuilt from the blob maps (${OBJECTS}), ms | ${rebuilt.toFixed(0)} |`,
    `| kill -9 → first successful put on the new leader, ms | ${firstPut.toFixed(0)} |`,
    `| keys on the new leader after the rebuild | ${keys} |`,
    `| restoreRank of ${OBJECTS} records, engine only, ms | ${restoreMs.toFixed(0)} |`,
    `| longest event-loop stall during that restore, ms | ${longestStallMs.toFixed(0)} |`,
    `| batch put 4 KiB × 2 replicas KV/s, no HA (median of 3) | ${median(plain).toFixed(0)} |`,
    `| batch put 4 KiB × 2 replicas KV/s, HA with blob-map pushes (median of 3) | ${median(withHa).toFixed(0)} |`,
    `| ratio HA / no HA | ${(median(withHa) / median(plain)).toFixed(2)}× |`,
  ];
  console.log(lines.join('\n'));
  const results = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'ha-bench.md'), `${lines.join('\n')}\n`);
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});
