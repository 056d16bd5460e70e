// The memcache-hybrid pool in one process: a meta service (object metadata and allocation), one local
// service (rank 0, holding the DRAM/HBM segments) and a MemCacheClient that puts bytes and gets them back.
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import {
  MEDIUM_NAMES,
  MemCacheClient,
  startLocalService,
  startMetaServiceServer,
} from '@kvforge/memcache-hybrid';
import { pino } from 'pino';

export interface MemcacheRoundTripOptions {
  /** Interface every listener binds (meta RPC, REST, data); ports are picked free. */
  host: string;
  /** Size of the value stored. @default 1 MiB */
  valueBytes?: number;
}

export interface MemcacheRoundTripResult {
  written: Buffer;
  readBack: Buffer;
  /** Where the meta service placed the object's blobs, e.g. `rank-0-DRAM`. */
  blobs: string[];
}

const MiB = 1024 * 1024;

export async function run(options: MemcacheRoundTripOptions): Promise<MemcacheRoundTripResult> {
  const logger = pino({ level: 'warn' });
  const meta = await startMetaServiceServer({
    rpcUrl: `tcp://${options.host}:0`,
    restUrl: `http://${options.host}:0`,
    logger,
  });
  const metaUrl = `tcp://${options.host}:${meta.rpc.port}`;
  // A local service mounts its segments with the meta service, then serves the bytes itself.
  const local = await startLocalService({ rank: 0, metaUrl, dramBytes: 64 * MiB, dataHost: options.host });
  const client = await MemCacheClient.connect({ metaUrl });
  try {
    const written = randomBytes(options.valueBytes ?? MiB);
    await client.put('example:tensor-block', written, { replicas: 1, medium: 'dram' });
    const readBack = await client.get('example:tensor-block');
    const info = await client.query('example:tensor-block');
    const blobs = (info?.blobs ?? []).map((blob) => `rank-${blob.rank}-${MEDIUM_NAMES[blob.medium]}`);
    await client.remove('example:tensor-block');
    return { written, readBack, blobs };
  } finally {
    await client.close();
    await local.close();
    await meta.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // tsx src/memcache-round-trip.ts [host]   (or MMC_HOST=host)
  const host = process.argv[2] ?? process.env.MMC_HOST ?? '127.0.0.1';
  const { written, readBack, blobs } = await run({ host });
  console.log({ bytes: written.length, identical: written.equals(readBack), blobs });
}
