// memcache-hybrid data-plane benchmark (part of pnpm -F @kvforge/memcache-hybrid bench): put/get GB/s of
// 1 MiB and 64 MiB objects through a local service vs a raw TCP socket copy on loopback, the /dev/shm path,
// and 4 KiB batch put/get KV/s vs Mooncake's published single-host TCP figures. Meta service, local
// services and the raw peer each run in their own process; the client is this one. Medians of 3 runs.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MemCacheClient, MetaRpcClient, RPC_OPCODE } from '../dist/index.js';

const RUNS = 3;
const MiB = 1024 * 1024;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const children = [];

function child(...args) {
  // execArgv: a run under `--conditions=@kvforge/source --import tsx` (no dependency builds) carries over.
  const process = spawn(
    'node',
    [
      ...globalThis.process.execArgv,
      fileURLToPath(new URL('./data-stack-child.mjs', import.meta.url)),
      ...args,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(process);
  return new Promise((resolve, reject) => {
    process.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim())));
    process.once('exit', (code) => reject(new Error(`bench child ${args[0]} exited ${code}`)));
  });
}

/** The raw peer: one socket, same copies as the data plane, no framing beyond a 5-byte header. */
async function rawRun(port, size, count) {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise((resolve) => socket.once('connect', resolve));
  const payload = Buffer.alloc(size, 7);
  const target = Buffer.allocUnsafe(size);
  let pending;
  let received = 0;
  socket.on('data', (chunk) => {
    if (pending.kind === 'write') return pending.resolve();
    chunk.copy(target, received);
    received += chunk.length;
    if (received >= size) pending.resolve();
  });
  const request = (op) => {
    const header = Buffer.alloc(5);
    header[0] = op;
    header.writeUInt32LE(size, 1);
    return header;
  };
  let started = performance.now();
  for (let index = 0; index < count; index++) {
    await new Promise((resolve) => {
      pending = { kind: 'write', resolve };
      socket.cork();
      socket.write(request(1));
      socket.write(payload);
      socket.uncork();
    });
  }
  const put = (size * count) / ((performance.now() - started) / 1000) / 1e9;
  started = performance.now();
  for (let index = 0; index < count; index++) {
    received = 0;
    await new Promise((resolve) => {
      pending = { kind: 'read', resolve };
      socket.write(request(2));
    });
  }
  const get = (size * count) / ((performance.now() - started) / 1000) / 1e9;
  socket.destroy();
  return { put, get };
}

async function cacheRun(client, rank, size, count) {
  const value = Buffer.alloc(size, 3);
  const keys = Array.from({ length: count }, (_, index) => `bench-${rank}-${size}-${index}`);
  let started = performance.now();
  for (const key of keys) await client.put(key, value, { medium: 'dram', preferredRanks: [rank] });
  const put = (size * count) / ((performance.now() - started) / 1000) / 1e9;
  const target = Buffer.allocUnsafe(size);
  started = performance.now();
  for (const key of keys) await client.getInto(key, target);
  const get = (size * count) / ((performance.now() - started) / 1000) / 1e9;
  for (const key of keys) await client.remove(key);
  return { put, get };
}

/** 4 KiB values, batches of 32, 8 batches in flight (Mooncake's figure: batch 32, 64 sync lanes). */
async function batchRun(client, total) {
  const value = Buffer.alloc(4096, 5);
  const batches = [];
  for (let at = 0; at < total; at += 32) {
    batches.push(Array.from({ length: 32 }, (_, index) => ({ key: `kv-${at + index}`, value })));
  }
  const lanes = async (run) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < batches.length) await run(batches[next++]);
      }),
    );
  };
  let started = performance.now();
  await lanes(async (batch) => {
    const results = await client.batchPut(batch, { medium: 'dram' });
    if (results.some((result) => result !== 0)) throw new Error(`batchPut: ${results}`);
  });
  const put = total / ((performance.now() - started) / 1000);
  started = performance.now();
  await lanes(async (batch) => {
    const items = await client.batchGet(batch.map((item) => item.key));
    if (items.some((item) => item.result !== 0)) throw new Error('batchGet failed');
  });
  const get = total / ((performance.now() - started) / 1000);
  return { put, get };
}

const metaPort = await child('meta');
const tcpPort = await child('local', '0', String(metaPort), '0');
await child('local', '1', String(metaPort), '1');
const rawPort = await child('raw');
void tcpPort;
const tcpClient = await MemCacheClient.connect({
  metaUrl: `tcp://127.0.0.1:${metaPort}`,
  sharedMemory: false,
});
const shmClient = await MemCacheClient.connect({
  metaUrl: `tcp://127.0.0.1:${metaPort}`,
  sharedMemory: true,
});
const admin = await MetaRpcClient.connect(`tcp://127.0.0.1:${metaPort}`);

const samples = {};
const record = (name, value) => {
  samples[name] ??= [];
  samples[name].push(value);
};
for (let run = 0; run < RUNS; run++) {
  for (const [size, count] of [
    [MiB, 256],
    [64 * MiB, 8],
  ]) {
    const label = size === MiB ? '1 MiB' : '64 MiB';
    const raw = await rawRun(rawPort, size, count);
    const tcp = await cacheRun(tcpClient, 0, size, count);
    const shm = await cacheRun(shmClient, 1, size, count);
    record(`${label} put raw`, raw.put);
    record(`${label} get raw`, raw.get);
    record(`${label} put tcp`, tcp.put);
    record(`${label} get tcp`, tcp.get);
    record(`${label} put shm`, shm.put);
    record(`${label} get shm`, shm.get);
  }
  const batch = await batchRun(tcpClient, 20_480);
  record('batch put', batch.put);
  record('batch get', batch.get);
  await admin.call(RPC_OPCODE.REMOVE_ALL);
}
await tcpClient.close();
await shmClient.close();
await admin.close();
for (const process of children) process.kill('SIGTERM');

const m = (name) => median(samples[name]);
const gb = (value) => value.toFixed(2);
const ratio = (value, peer) => `${(value / peer).toFixed(2)}×`;
const rows = [];
for (const label of ['1 MiB', '64 MiB']) {
  for (const op of ['put', 'get']) {
    const raw = m(`${label} ${op} raw`);
    rows.push([
      `${op} ${label} GB/s, TCP data protocol (4 lanes)`,
      gb(m(`${label} ${op} tcp`)),
      gb(raw),
      ratio(m(`${label} ${op} tcp`), raw),
    ]);
    rows.push([
      `${op} ${label} GB/s, /dev/shm file (same host)`,
      gb(m(`${label} ${op} shm`)),
      gb(raw),
      ratio(m(`${label} ${op} shm`), raw),
    ]);
  }
}
rows.push([
  'batch put 4 KiB KV/s (32 per batch, 8 in flight)',
  Math.round(m('batch put')).toLocaleString('en-US'),
  '30,200',
  ratio(m('batch put'), 30_200),
]);
rows.push([
  'batch get 4 KiB KV/s (32 per batch, 8 in flight)',
  Math.round(m('batch get')).toLocaleString('en-US'),
  '127,700',
  ratio(m('batch get'), 127_700),
]);

const header = `memcache-hybrid data plane, median of ${RUNS} runs, Node ${process.version}; peer = raw TCP socket copy on loopback (GB/s rows) / Mooncake single-host TCP, PR #2871 (KV/s rows)`;
const table = [
  '| measure | memcache-hybrid | peer | ratio |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map((row) => `| ${row.join(' | ')} |`),
].join('\n');
console.log(`${header}\n\n${table}`);
const directory = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(directory, { recursive: true });
writeFileSync(`${directory}data-bench.md`, `${header}\n\n${table}\n`);
writeFileSync(
  `${directory}data-bench.json`,
  `${JSON.stringify({ node: process.version, runs: RUNS, samples }, null, 2)}\n`,
);
process.exit(0);
