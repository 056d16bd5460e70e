// memcache-hybrid benchmark (pnpm -F @kvforge/memcache-hybrid bench): in-process core, meta RPC vs a bare
// framed TCP echo, REST vs a bare fastify route — same run, same machine, medians of 3.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createHttpServer } from '@kvforge/common-http';
import Fastify from 'fastify';
import {
  BLOB_ACTION,
  MEDIUM,
  MEMCACHE_ERROR_ENVELOPE,
  MetaRpcClient,
  MetaService,
  memcacheRestPlugin,
  RPC_OPCODE,
  standaloneHaSnapshot,
  TRACEPOINT_ID,
} from '../dist/index.js';

const RUNS = 3;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function coreRun() {
  const service = new MetaService();
  for (let rank = 0; rank < 8; rank++) service.mount(rank, MEDIUM.DRAM, 64 * 1024 ** 3);
  const count = 200_000;
  const started = performance.now();
  for (let index = 0; index < count; index++) {
    const key = `k${index}`;
    const { blobs } = service.alloc(key, { size: 4096, preferredRank: index & 7 });
    const blob = blobs[0];
    service.updateState({ key, rank: blob.rank, medium: blob.medium, action: BLOB_ACTION.WRITE_OK });
  }
  const pairsPerSecond = count / ((performance.now() - started) / 1000);
  const getStarted = performance.now();
  for (let index = 0; index < count; index++) service.get(`k${index}`);
  const getsPerSecond = count / ((performance.now() - getStarted) / 1000);
  return {
    pairsPerSecond,
    getsPerSecond,
    putAverageMicroseconds: service.tracer.averageMicroseconds(TRACEPOINT_ID.TP_MMC_META_PUT),
    getAverageMicroseconds: service.tracer.averageMicroseconds(TRACEPOINT_ID.TP_MMC_META_GET),
  };
}

/** Single ops with a window of `depth` in flight for `milliseconds`; ops/s and p99 latency in ms. */
async function drive(client, makeCall, depth, milliseconds) {
  const latencies = [];
  let done = 0;
  const deadline = performance.now() + milliseconds;
  const started = performance.now();
  async function lane(lane) {
    let index = lane;
    while (performance.now() < deadline) {
      const begin = performance.now();
      await makeCall(client, index);
      latencies.push(performance.now() - begin);
      index += depth;
      done++;
    }
  }
  await Promise.all(Array.from({ length: depth }, (_, lane) => lane).map(lane));
  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: done / ((performance.now() - started) / 1000),
    p99: latencies[Math.floor(latencies.length * 0.99)],
  };
}

/** Sends `rate` alloc requests per second for `milliseconds` (open loop) and returns the p99 latency in ms. */
async function fixedRate(client, prefix, rate, milliseconds) {
  const latencies = [];
  const pending = [];
  const perTick = rate / 1000;
  let sent = 0;
  const started = performance.now();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.min(Math.floor(elapsed * perTick), Math.floor(milliseconds * perTick));
      for (; sent < due; sent++) {
        const begin = performance.now();
        pending.push(
          client.alloc(`${prefix}${sent}`, 4096).then(() => latencies.push(performance.now() - begin)),
        );
      }
      if (elapsed >= milliseconds) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  return {
    p99: latencies[Math.floor(latencies.length * 0.99)],
    achieved: latencies.length / (milliseconds / 1000),
  };
}

async function rpcRuns() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./rpc-server-child.mjs', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [port, echoPort] = await new Promise((resolve) =>
    child.stdout.once('data', (chunk) => resolve(String(chunk).trim().split(' ').map(Number))),
  );
  const meta = await MetaRpcClient.connect(`tcp://127.0.0.1:${port}`);
  const bare = await MetaRpcClient.connect(`tcp://127.0.0.1:${echoPort}`);
  const results = { single: [], echo: [], batch: [], sync: [], rate: [] };
  for (let run = 0; run < RUNS; run++) {
    results.single.push(
      await drive(meta, (client, index) => client.alloc(`r${run}-${index}`, 4096), 64, 1500),
    );
    results.echo.push(await drive(bare, (client) => client.call(RPC_OPCODE.PING), 64, 1500));
    results.sync.push(await drive(meta, (client, index) => client.get(`r${run}-${index}`), 1, 1000));
    results.rate.push(await fixedRate(meta, `rate${run}-`, 10_000, 2000));
    const batchSize = 128;
    const batch = await drive(
      meta,
      (client, index) =>
        client.call(
          RPC_OPCODE.BATCH_QUERY,
          Array.from({ length: batchSize }, (_, item) => `r${run}-${index * batchSize + item}`),
        ),
      8,
      1500,
    );
    results.batch.push({ keysPerSecond: batch.opsPerSecond * batchSize, p99: batch.p99 });
  }
  meta.close();
  bare.close();
  child.kill('SIGTERM');
  return results;
}

async function httpLoad(port, path, connections, milliseconds) {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connections, pipelining: 1 });
  let done = 0;
  const deadline = performance.now() + milliseconds;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const response = await request(`http://127.0.0.1:${port}${path}`, { dispatcher: agent });
        await response.body.text();
        done++;
      }
    }),
  );
  await agent.close();
  return done / ((performance.now() - started) / 1000);
}

async function restRuns() {
  const service = new MetaService();
  service.mount(0, MEDIUM.DRAM, 1 << 30);
  service.alloc('key_a', { size: 100 });
  const app = createHttpServer({ errorEnvelope: MEMCACHE_ERROR_ENVELOPE });
  await app.register(memcacheRestPlugin, {
    service,
    ha: () => standaloneHaSnapshot('bench'),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const bare = Fastify();
  bare.get('/query_key', async () => ({
    key: 'key_a',
    size: 100,
    prot: 0,
    numBlobs: 1,
    valid: true,
    blobs: [{ rank: 0, medium: 'DRAM' }],
  }));
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const ours = [];
  const peer = [];
  for (let run = 0; run < RUNS; run++) {
    ours.push(await httpLoad(app.server.address().port, '/query_key?key=key_a', 32, 1500));
    peer.push(await httpLoad(bare.server.address().port, '/query_key?key=key_a', 32, 1500));
  }
  await app.close();
  await bare.close();
  return { ours, peer };
}

const core = Array.from({ length: RUNS }, coreRun);
const rpc = await rpcRuns();
const rest = await restRuns();
const rows = [
  ['core alloc+commit pairs/s (in-process)', median(core.map((r) => r.pairsPerSecond)), null],
  ['core get/s (in-process)', median(core.map((r) => r.getsPerSecond)), null],
  ['ptracer META_PUT avg µs (spec example: 59)', median(core.map((r) => r.putAverageMicroseconds)), null],
  ['ptracer META_GET avg µs (spec example: 31)', median(core.map((r) => r.getAverageMicroseconds)), null],
  [
    'RPC alloc ops/s, 1 connection, 64 in flight',
    median(rpc.single.map((r) => r.opsPerSecond)),
    median(rpc.echo.map((r) => r.opsPerSecond)),
  ],
  ['RPC alloc p99 ms at that load', median(rpc.single.map((r) => r.p99)), median(rpc.echo.map((r) => r.p99))],
  ['RPC alloc p99 ms at a fixed 10 000 ops/s (goal < 1 ms)', median(rpc.rate.map((r) => r.p99)), null],
  ['RPC get ops/s, 1 in flight (sync)', median(rpc.sync.map((r) => r.opsPerSecond)), null],
  ['RPC get p99 ms, 1 in flight', median(rpc.sync.map((r) => r.p99)), null],
  [
    'RPC batch query keys/s (128 per batch, 8 in flight)',
    median(rpc.batch.map((r) => r.keysPerSecond)),
    null,
  ],
  ['REST /query_key req/s (32 connections)', median(rest.ours), median(rest.peer)],
];
const format = (value) =>
  value === null ? '—' : value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(3);
const table = [
  `memcache-hybrid, median of ${RUNS} runs, Node ${process.version}; peer = bare framed TCP echo (RPC) / bare fastify route (REST); RPC server in its own process`,
  '',
  '| measure | memcache-hybrid | peer | ratio |',
  '|---|---:|---:|---:|',
  ...rows.map(
    ([name, ours, peer]) =>
      `| ${name} | ${format(ours)} | ${format(peer)} | ${peer ? `${(ours / peer).toFixed(2)}×` : '—'} |`,
  ),
].join('\n');
console.log(table);
const directory = new URL('./results/', import.meta.url);
mkdirSync(directory, { recursive: true });
writeFileSync(
  new URL('meta-bench.json', directory),
  `${JSON.stringify({ node: process.version, rows }, null, 2)}\n`,
);
writeFileSync(new URL('meta-bench.md', directory), `${table}\n`);
