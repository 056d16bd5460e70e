// A kvstore proxy embedded in a program with a fixed bucket table (no ConfigServer): any Redis client
// talks to it, and it shards keys over plain Redis masters as `<bucket>_<key>`.
import { pathToFileURL } from 'node:url';
import { bucketOf, createBucketTable, KvStoreProxy } from '@kvforge/kvstore';
import { Redis } from 'ioredis';

export interface KvstoreEmbeddedProxyOptions {
  /** host:port of each Redis master; buckets are dealt out to them round-robin. */
  masters: string[];
  /** Port the proxy listens on (127.0.0.1). @default 0, a free port */
  port?: number;
  /** How many keys the example writes. @default 100 */
  keyCount?: number;
}

export interface KvstoreEmbeddedProxyResult {
  written: string[];
  /** MGET through the proxy (one request, split per master and merged back in order). */
  readBack: (string | null)[];
  /** Keys found on each master under their `<bucket>_<key>` name, by master address. */
  keysPerMaster: Record<string, number>;
}

export async function run(options: KvstoreEmbeddedProxyOptions): Promise<KvstoreEmbeddedProxyResult> {
  const table = createBucketTable('example', 256, options.masters); // 256 buckets: the minimum
  const proxy = new KvStoreProxy({ namespace: 'example', port: options.port ?? 0 });
  proxy.setTable(table);
  const { host, port } = await proxy.listen();
  const client = new Redis({ host, port });
  const masters = options.masters.map((address) => {
    const [masterHost, masterPort] = address.split(':');
    return { address, redis: new Redis({ host: masterHost, port: Number(masterPort) }) };
  });

  try {
    const keys = Array.from({ length: options.keyCount ?? 100 }, (_, index) => `user:${index}`);
    const written = keys.map((key) => `value of ${key}`);
    const pipeline = client.pipeline();
    for (const [index, key] of keys.entries()) pipeline.set(key, written[index]!);
    await pipeline.exec();
    const readBack = await client.mget(...keys);

    // Where each key should be, by the same hash the proxy uses; then ask that master directly.
    const keysPerMaster: Record<string, number> = {};
    for (const key of keys) {
      const bytes = Buffer.from(key);
      const bucket = bucketOf(bytes, 0, bytes.length, table.owners.length);
      const owner = masters.find((master) => master.address === table.owners[bucket])!;
      if ((await owner.redis.exists(`${bucket}_${key}`)) === 1)
        keysPerMaster[owner.address] = (keysPerMaster[owner.address] ?? 0) + 1;
    }
    return { written, readBack, keysPerMaster };
  } finally {
    client.disconnect();
    for (const master of masters) master.redis.disconnect();
    await proxy.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // tsx src/kvstore-embedded-proxy.ts MASTER1 MASTER2 …   (or KVSTORE_MASTERS=host:port,host:port)
  const fromArguments = process.argv.slice(2);
  const masters = fromArguments.length > 0 ? fromArguments : (process.env.KVSTORE_MASTERS ?? '').split(',');
  const { readBack, written, keysPerMaster } = await run({ masters });
  console.log({ allReadBack: readBack.every((value, index) => value === written[index]), keysPerMaster });
}
