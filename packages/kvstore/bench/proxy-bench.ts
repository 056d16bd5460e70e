// kvstore-proxy (the app, --threads 1 and --threads 2) vs direct Redis vs nutcracker (default and
// -m 512), in one run on one machine: redis-benchmark -c 50 -d 64 -r 100000 -t set,get at -P 1 and
// -P 16 (median of 3), plus -c 1 p50 latency.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  getFreePort,
  makeTempDirectory,
  removeDirectory,
  startNutcracker,
  startProcess,
  startRedis,
} from '@kvforge/testing';
import { startConfigServerApp } from '../test/config-server-fixture';
import { startProxyProcess } from '../test/proxy-process-fixture';

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

/** nutcracker with `-m 512` (16 KiB default mbufs are its other config): the same pool as the fixture's. */
async function startNutcrackerMbuf512(server: string): Promise<{ port: number; stop(): Promise<void> }> {
  const directory = makeTempDirectory('nutcracker-m512');
  const port = await getFreePort();
  const configPath = join(directory, 'nutcracker.yml');
  const pool = ['kvforge:', `  listen: 127.0.0.1:${port}`, '  hash: fnv1a_64', '  distribution: ketama'];
  pool.push(
    '  redis: true',
    '  auto_eject_hosts: false',
    '  preconnect: true',
    '  servers:',
    `    - ${server}:1 server0`,
  );
  writeFileSync(configPath, `${pool.join('\n')}\n`);
  const managed = await startProcess({
    name: `nutcracker-m512:${port}`,
    command: 'nutcracker',
    args: ['-c', configPath, '-m', '512', '-s', String(await getFreePort()), '-a', '127.0.0.1'],
    readyWhen: { port },
  });
  return {
    port,
    async stop() {
      await managed.stop();
      removeDirectory(directory);
    },
  };
}

const TARGETS = [
  'redis (direct)',
  'nutcracker',
  'nutcracker -m 512',
  'kvstore --threads 1',
  'kvstore --threads 2',
];

async function main(): Promise<void> {
  const redis = await startRedis();
  const nutcracker = await startNutcracker({ servers: [redis.address] });
  const nutcracker512 = await startNutcrackerMbuf512(redis.address);
  const dataDir = makeTempDirectory('bench-cs');
  const configServer = await startConfigServerApp(dataDir);
  await configServer.server.initTable('bench', 256, [redis.address], 'data_store');
  // The default max_qps (200000, the original's) would cap the pipelined runs. Both proxies are the
  // app binary, so --threads 1 and 2 differ only by the flag.
  const proxies = await Promise.all(
    [1, 2].map((threads) =>
      startProxyProcess({
        namespace: 'bench',
        configServer: configServer.address,
        threads,
        extraArgs: ['--max-qps', '1000000000', '--log-level', 'warn'],
      }),
    ),
  );
  const targets = [
    { name: TARGETS[0]!, port: redis.port },
    { name: TARGETS[1]!, port: nutcracker.port },
    { name: TARGETS[2]!, port: nutcracker512.port },
    { name: TARGETS[3]!, port: proxies[0]!.port },
    { name: TARGETS[4]!, port: proxies[1]!.port },
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
    await Promise.all(proxies.map((proxy) => proxy.process.stop()));
    await configServer.close();
    removeDirectory(dataDir);
    await nutcracker512.stop();
    await nutcracker.stop();
    await redis.stop();
  }

  const find = (target: string, pipeline: number, test: string) =>
    rows.find((row) => row.target === target && row.pipeline === pipeline && row.test === test)
      ?.opsPerSecond ?? 0;
  const lines = [
    '| test | -P | direct | nutcracker (best of default, -m 512) | --threads 1 | --threads 2 | t1/nutcracker | t2/nutcracker | t2/t1 |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const pipeline of [1, 16]) {
    for (const test of ['SET', 'GET']) {
      const direct = find(TARGETS[0]!, pipeline, test);
      const twem = Math.max(find(TARGETS[1]!, pipeline, test), find(TARGETS[2]!, pipeline, test));
      const one = find(TARGETS[3]!, pipeline, test);
      const two = find(TARGETS[4]!, pipeline, test);
      lines.push(
        `| ${test} | ${pipeline} | ${Math.round(direct)} | ${Math.round(twem)} | ${Math.round(one)} | ${Math.round(two)} | ${(one / twem).toFixed(2)} | ${(two / twem).toFixed(2)} | ${(two / one).toFixed(2)} |`,
      );
    }
  }
  lines.push(
    '',
    `| -c 1 p50 latency (ms) | ${TARGETS.join(' | ')} |`,
    `|---|${TARGETS.map(() => '---').join('|')}|`,
  );
  for (const test of ['SET', 'GET']) {
    lines.push(`| ${test} | ${TARGETS.map((target) => latency[target]?.[test]).join(' | ')} |`);
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
