#!/usr/bin/env node
// `npm start`: the local stack of every service that has been built, on fixed loopback ports,
// logs in .kvforge/stack/. Ctrl-C (or SIGTERM) stops everything, children first, nothing left behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const root = new URL('../..', import.meta.url).pathname;
const stateDirectory = join(root, '.kvforge', 'stack');
rmSync(stateDirectory, { recursive: true, force: true });
mkdirSync(stateDirectory, { recursive: true });
const app = (name) => join(root, 'apps', name, 'dist', 'main.js');

function redis(name, port) {
  const directory = join(stateDirectory, name);
  mkdirSync(directory, { recursive: true });
  return {
    name,
    command: 'redis-server',
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      directory,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    port,
    address: `redis-cli -p ${port}`,
  };
}

const gunyuConfig = join(stateDirectory, 'gunyu-sync.yaml');
writeFileSync(
  gunyuConfig,
  [
    'input:',
    '  redis:',
    '    addresses: ["127.0.0.1:7101"]',
    '    type: standalone',
    'output:',
    '  redis:',
    '    addresses: ["127.0.0.1:7102"]',
    '    type: standalone',
    'channel:',
    `  storer:`,
    `    dirPath: ${join(stateDirectory, 'gunyu-sync')}`,
    'server:',
    '  listen: 127.0.0.1:7200',
    '',
  ].join('\n'),
);

const services = [
  redis('kvstore-redis-1', 7001),
  redis('kvstore-redis-2', 7002),
  redis('kvstore-redis-3', 7003),
  {
    name: 'kvstore-config-server',
    command: 'node',
    args: [
      app('kvstore-config-server'),
      '--http-port',
      '7000',
      '--data-dir',
      join(stateDirectory, 'kvstore-config'),
    ],
    port: 7000,
    address: 'http://127.0.0.1:7000/kvstore/cs/namespace_list',
    after: async () => {
      const response = await fetch('http://127.0.0.1:7000/kvstore/cs/init_table', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          namespace: 'demo',
          bucket_count: 256,
          address_list: ['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003'],
        }),
      });
      const body = await response.json();
      if (body.code !== 1001) console.log(`  init_table demo: ${JSON.stringify(body)}`);
    },
  },
  {
    name: 'kvstore-proxy',
    command: 'node',
    args: [
      app('kvstore-proxy'),
      '--port',
      '6380',
      '--http-port',
      '7500',
      '--namespace',
      'demo',
      '--config-server',
      '127.0.0.1:7000',
    ],
    port: 6380,
    address: 'redis-cli -p 6380   (HTTP http://127.0.0.1:7500/kvstore/proxy/stats_info)',
  },
  redis('gunyu-source-redis', 7101),
  redis('gunyu-target-redis', 7102),
  {
    name: 'gunyu-sync',
    command: 'node',
    args: [app('gunyu-sync'), '--conf', gunyuConfig],
    port: 7200,
    address: 'http://127.0.0.1:7200/syncer/status  (source redis-cli -p 7101 → target redis-cli -p 7102)',
  },
  ...[1, 2, 3].map((index) => ({
    name: `dcache-node${index}`,
    command: 'node',
    args: [
      app('dcache'),
      '--node-id',
      `node${index}`,
      '--listen',
      `127.0.0.1:${8000 + index}`,
      ...(index > 1 ? ['--seeds', '127.0.0.1:8001'] : []),
    ],
    port: 8000 + index,
    address: `http://127.0.0.1:${8000 + index}/api/v1/health`,
  })),
  {
    name: 'memcache-meta-service',
    command: 'node',
    args: [app('memcache-meta-service')],
    port: 8000,
    address: 'http://127.0.0.1:8000/health   (meta RPC tcp://127.0.0.1:5000)',
  },
  // Two ranks holding real memory; they mount their segments with the meta service above.
  ...[0, 1].map((rank) => ({
    name: `memcache-local-service-${rank}`,
    command: 'node',
    args: [
      app('memcache-local-service'),
      '--rank',
      String(rank),
      '--data-listen',
      `127.0.0.1:${5100 + rank}`,
      '--ock.mmc.local_service.dram.size=512MB',
      '--ock.mmc.local_service.hbm.size=128MB',
    ],
    port: 5100 + rank,
    address: `rank ${rank}: DRAM 512MB + HBM 128MB, data tcp://127.0.0.1:${5100 + rank}`,
  })),
];

function portAccepts(port) {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const running = [];
let stopping = false;

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping the stack…');
  for (const { child } of [...running].reverse()) if (child.exitCode === null) child.kill('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (
    running.some(({ child }) => child.exitCode === null && child.signalCode === null) &&
    Date.now() < deadline
  ) {
    await delay(50);
  }
  for (const { child } of running)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  console.log('stopped.');
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

console.log(`kvforge local stack (logs: ${stateDirectory})`);
for (const service of services) {
  if (service.command === 'node' && !existsSync(service.args[0])) {
    console.log(`  - ${service.name.padEnd(24)} not built yet, skipped`);
    continue;
  }
  if (await portAccepts(service.port)) {
    console.error(`port ${service.port} for ${service.name} is already in use; stop whatever holds it`);
    await stopAll(1);
  }
  const log = openSync(join(stateDirectory, `${service.name}.log`), 'a');
  // --pdeathsig: if this script is killed hard, the kernel still stops its children.
  const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', service.command, ...service.args], {
    cwd: root,
    stdio: ['ignore', log, log],
  });
  running.push({ service, child });
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`  ! ${service.name} exited (${code ?? signal}); see its log`);
  });
  const deadline = Date.now() + 20_000;
  while (!(await portAccepts(service.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      console.error(`  ! ${service.name} did not start; see ${join(stateDirectory, `${service.name}.log`)}`);
      await stopAll(1);
    }
    await delay(50);
  }
  if (service.after) await service.after();
  console.log(`  ✓ ${service.name.padEnd(24)} ${service.address}`);
}
console.log('\nready. Ctrl-C stops everything.');
