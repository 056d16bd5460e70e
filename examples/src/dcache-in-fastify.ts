// A dcache node mounted inside an application's own fastify server: the app keeps its routes and
// gains the cache API (/api/v1/cache/…) on the same port.
import { pathToFileURL } from 'node:url';
import { DcacheClient, DcacheNode, dcachePlugin } from '@kvforge/dcache';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';

export interface DcacheInFastifyOptions {
  /** Where the app listens; peers and clients reach the node there. */
  host: string;
  port: number;
  /** Other dcache nodes to join (host:port); none founds a one-node cluster. @default [] */
  seeds?: string[];
}

export interface DcacheInFastifyResult {
  /** The app's own route, still served next to the cache. */
  greeting: unknown;
  /** What a client read back after writing `{ name: '张三' }`. */
  readBack: unknown;
  answeredBy: string;
}

export async function run(options: DcacheInFastifyOptions): Promise<DcacheInFastifyResult> {
  const address = `${options.host}:${options.port}`;
  const app = Fastify();
  // dcache's route schemas are zod schemas: the app validates and serialises with zod. Errors keep the
  // app's own format; createDcacheServer() would give a whole server with the spec's error envelope.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.get('/hello', async () => ({ hello: 'from the app' }));

  const node = new DcacheNode({ nodeId: `node-${options.port}`, address, seeds: options.seeds ?? [] });
  await app.register(dcachePlugin, { node });
  await app.listen({ host: options.host, port: options.port });
  node.start();

  const client = await DcacheClient.connect({ nodes: [address] });
  try {
    const greeting = await (await fetch(`http://${address}/hello`)).json();
    await client.set('user:1001', { name: '张三' }, { ttlSeconds: 60 });
    const { value, nodeId } = await client.get('user:1001');
    return { greeting, readBack: value, answeredBy: nodeId };
  } finally {
    await client.close();
    await node.stop(); // stops probing peers; node.leave() would hand its partitions off first
    await app.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // tsx src/dcache-in-fastify.ts [host:port]   (or DCACHE_LISTEN=host:port)
  const listen = process.argv[2] ?? process.env.DCACHE_LISTEN ?? '127.0.0.1:8001';
  const [host = '', port = ''] = listen.split(':');
  console.log(await run({ host, port: Number(port) }));
}
