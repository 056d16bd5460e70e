// Issue 16's "done when" migration run: 200 000 keys on 3 masters behind a proxy, one third of the
// buckets (scale_data_store add) moved to a 4th while a verifier reads and writes through the proxy.
// Reports keys/s, the verifier's operations, errors and wrong answers, then reads every key back.
// Run: pnpm -F @kvforge/kvstore exec tsx --conditions=@kvforge/source bench/migration-proxy-bench.ts
// (`-- --no-verifier`: the same run without the verifier, to see its cost; ConfigServer, proxy and
// verifier share this one process and its event loop.)
import { parseArgs } from 'node:util';
import { createHttpServer } from '@kvforge/common-http';
import { makeTempDirectory, removeDirectory, startRedis } from '@kvforge/testing';
import { Redis } from 'ioredis';
import { ConfigServerService } from '../src/config-server/config-server-service';
import { configServerPlugin } from '../src/http/config-server-plugin';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';
import { KvStoreProxyService } from '../src/proxy/kv-store-proxy-service';

const KEYS = 200_000;
const masters = await Promise.all([startRedis(), startRedis(), startRedis()]);
const added = await startRedis();
const dataDir = makeTempDirectory('kvstore-mig-bench-');
const cs = await ConfigServerService.open({ store: { kind: 'file', dataDir }, maxWatchMs: 2000 });
const app = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
await app.register(configServerPlugin, cs.httpPluginOptions);
await app.listen({ host: '127.0.0.1', port: 0 });
const bound = app.server.address();
const csAddress = `127.0.0.1:${typeof bound === 'object' && bound ? bound.port : 0}`;
await cs.configServer.initTable(
  'bench',
  256,
  masters.map((master) => master.address),
);
const service = new KvStoreProxyService({
  namespace: 'bench',
  port: 0,
  configServer: csAddress,
  watchMs: 2000,
});
const { port } = await service.start();
const client = new Redis({ port, maxRetriesPerRequest: 1 });
const expected: string[] = Array.from({ length: KEYS }, (_, index) => `v0-${index}`);
for (let offset = 0; offset < KEYS; offset += 1000) {
  const pairs: string[] = [];
  for (let index = offset; index < offset + 1000; index++) pairs.push(`key:${index}`, expected[index]!);
  await client.mset(...pairs);
}

const verifier = { reads: 0, writes: 0, errors: 0, wrong: 0 };
// A flag, not the environment: only an app's main.ts reads that.
const { values: flags } = parseArgs({ options: { 'no-verifier': { type: 'boolean', default: false } } });
let running = !flags['no-verifier'];
// The verifier: a pipelined window of writes and reads of random keys; every read must see the last write.
const verify = (async () => {
  let round = 0;
  while (running) {
    round++;
    const pipeline = client.pipeline();
    const written: number[] = [];
    const read: number[] = [];
    for (let slot = 0; slot < 50; slot++) {
      const w = Math.floor(Math.random() * KEYS);
      written.push(w);
      pipeline.set(`key:${w}`, `v${round}-${w}`);
      const r = Math.floor(Math.random() * KEYS);
      read.push(r);
      pipeline.get(`key:${r}`);
    }
    const replies = (await pipeline.exec()) ?? [];
    for (let slot = 0; slot < 50; slot++) {
      const [setError] = replies[slot * 2]!;
      if (setError) verifier.errors++;
      else expected[written[slot]!] = `v${round}-${written[slot]!}`;
      verifier.writes++;
      const [getError, value] = replies[slot * 2 + 1]!;
      verifier.reads++;
      if (getError) verifier.errors++;
      else if (value !== expected[read[slot]!]) verifier.wrong++;
    }
  }
})();

const started = performance.now();
cs.migrator.scaleOut('bench', added.address);
const status = await cs.migrator.wait('bench', 600_000);
const seconds = (performance.now() - started) / 1000;
running = false;
await verify;
let lost = 0;
for (let offset = 0; offset < KEYS; offset += 1000) {
  const keys = Array.from({ length: 1000 }, (_, index) => `key:${offset + index}`);
  const values = await client.mget(...keys);
  values.forEach((value, index) => {
    if (value !== expected[offset + index]) lost++;
  });
}
const moved = await added.client().dbsize();
process.stdout.write(
  `${JSON.stringify({ state: status.state, error: status.error, movedKeys: moved, seconds: Number(seconds.toFixed(2)), keysPerSecond: Math.round(moved / seconds), verifier, lostOrStale: lost })}\n`,
);
client.disconnect();
await service.stop();
await app.close();
await cs.stop();
await Promise.all([...masters, added].map((redis) => redis.stop()));
removeDirectory(dataDir);
