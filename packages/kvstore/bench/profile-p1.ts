// CPU profile of the proxy on the -P 1 path: node --cpu-prof --cpu-prof-dir=/tmp/kvprof --import tsx
// bench/profile-p1.ts [pipeline depth, default 1] (one redis-benchmark run of 150k SET+GET, -c 50; about 5 s).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedis } from '@kvforge/testing';
import { createBucketTable } from '../src/core/bucket-table';
import { KvStoreProxy } from '../src/proxy/kv-store-proxy';

const run = promisify(execFile);
const redis = await startRedis();
const proxy = new KvStoreProxy({ namespace: 'bench', port: 0, config: { max_qps: 1_000_000_000 } });
proxy.setTable(createBucketTable('bench', 256, [redis.address]));
const { port } = await proxy.listen();
const { stdout } = await run(
  'redis-benchmark',
  [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '--csv',
    '-c',
    '50',
    '-d',
    '64',
    '-r',
    '100000',
    '-n',
    '150000',
    '-t',
    'set,get',
    '-P',
    process.argv[2] ?? '1',
  ],
  { timeout: 60_000 },
);
console.log(stdout);
await proxy.close();
await redis.stop();
process.exit(0);
