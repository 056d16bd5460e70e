// kvstore-proxy vs direct Redis vs nutcracker, in one run on one machine: redis-benchmark
// -c 50 -d 64 -r 100000 -t set,get at -P 1 and -P 16 (median of 3), plus -c 1 p50 latency.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { startNutcracker, startRedis } from '@kvforge/testing';
import { createBucketTable } from '../src/core/bucket-table';
import { KvStoreProxy } from '../src/proxy/kv-store-proxy';

const run = promisify(execFile);
const RUNS = 3;
const REQUESTS: Record<number, number> = { 1: 30_000, 16: 150_000 };

interface Row {
  target: string;
  pipeline: number;
  test: string;
  opsPerSecond: number;
}

async function benchmark(port: number, args: string[]): Promise<Map<string, { rps: number; p50: number }>> {
  const { stdout } = await run('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '--csv', ...args], {
    timeout: 60_000,
  });
  const result = new Map<string, { rps: number; p50: number }>();
  for (const line of stdout.trim().split('\n').slice(1)) {
    const cells = line.split(',').map((cell) => cell.replaceAll('"', ''));
    result.set(cells[0]!.split(' ')[0]!, { rps: Number(cells[1]), p50: Number(cells[4]) });
  }
  return result;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const redis = await startRedis();
  const nutcracker = await startNutcracker({ servers: [redis.address] });
  // The default max_qps (200000, the original's) would cap the pipelined runs.
  const proxy = new KvStoreProxy({ namespace: 'bench', port: 0, config: { max_qps: 1_000_000_000 } });
  proxy.setTable(createBucketTable('bench', 256, [redis.address]));
  const { port: proxyPort } = await proxy.listen();
  const targets = [
    { name: 'redis (direct)', port: redis.port },
    { name: 'nutcracker', port: nutcracker.port },
    { name: 'kvstore-proxy', port: proxyPort },
  ];
  const rows: Row[] = [];
  const latency: Record<string, Record<string, number>> = {};
  try {
    for (const pipeline of [1, 16]) {
      for (const target of targets) {
        const samples = new Map<string, number[]>();
        for (let runIndex = 0; runIndex < RUNS; runIndex++) {
          const result = await benchmark(target.port, [
            '-c',
            '50',
            '-d',
            '64',
            '-r',
            '100000',
            '-t',
            'set,get',
            '-P',
            String(pipeline),
            '-n',
            String(REQUESTS[pipeline]),
          ]);
          for (const [test, { rps }] of result) samples.set(test, [...(samples.get(test) ?? []), rps]);
        }
        for (const [test, values] of samples)
          rows.push({ target: target.name, pipeline, test, opsPerSecond: median(values) });
        process.stdout.write(`done ${target.name} -P ${pipeline}\n`);
      }
    }
    for (const target of targets) {
      const p50s = new Map<string, number[]>();
      for (let runIndex = 0; runIndex < RUNS; runIndex++) {
        const result = await benchmark(target.port, [
          '-c',
          '1',
          '-d',
          '64',
          '-r',
          '100000',
          '-t',
          'set,get',
          '-n',
          '5000',
        ]);
        for (const [test, { p50 }] of result) p50s.set(test, [...(p50s.get(test) ?? []), p50]);
      }
      latency[target.name] = Object.fromEntries([...p50s].map(([test, values]) => [test, median(values)]));
    }
  } finally {
    await proxy.close();
    await nutcracker.stop();
    await redis.stop();
  }

  const find = (target: string, pipeline: number, test: string) =>
    rows.find((row) => row.target === target && row.pipeline === pipeline && row.test === test)
      ?.opsPerSecond ?? 0;
  const lines = [
    '| test | -P | direct ops/s | nutcracker ops/s | kvstore-proxy ops/s | proxy/direct | proxy/nutcracker |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const pipeline of [1, 16]) {
    for (const test of ['SET', 'GET']) {
      const direct = find('redis (direct)', pipeline, test);
      const twem = find('nutcracker', pipeline, test);
      const ours = find('kvstore-proxy', pipeline, test);
      lines.push(
        `| ${test} | ${pipeline} | ${Math.round(direct)} | ${Math.round(twem)} | ${Math.round(ours)} | ${(ours / direct).toFixed(2)} | ${(ours / twem).toFixed(2)} |`,
      );
    }
  }
  lines.push('', '| -c 1 p50 latency (ms) | direct | nutcracker | kvstore-proxy |', '|---|---|---|---|');
  for (const test of ['SET', 'GET']) {
    lines.push(
      `| ${test} | ${latency['redis (direct)']?.[test]} | ${latency.nutcracker?.[test]} | ${latency['kvstore-proxy']?.[test]} |`,
    );
  }
  const markdown = `${lines.join('\n')}\n`;
  process.stdout.write(`\n${markdown}`);
  const directory = new URL('./results/', import.meta.url);
  mkdirSync(directory, { recursive: true });
  const meta = { date: new Date().toISOString(), node: process.version, runs: RUNS, requests: REQUESTS };
  writeFileSync(
    new URL('proxy-bench.json', directory),
    `${JSON.stringify({ meta, rows, latency }, null, 2)}\n`,
  );
  writeFileSync(
    new URL('proxy-bench.md', directory),
    `# kvstore-proxy benchmark\n\n${meta.date}, Node ${meta.node}, median of ${RUNS} runs, redis-benchmark -c 50 -d 64 -r 100000.\n\n${markdown}`,
  );
}

await main();
