import { createHttpServer } from '@kvforge/common-http';
import { createMetricsRegistry } from '@kvforge/metrics';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { DcacheNode } from '../node/dcache-node';
import { dcachePlugin } from './dcache-plugin';
import { DCACHE_ERROR_ENVELOPE } from './error-envelope';

export interface DcacheServerOptions {
  node: DcacheNode;
  /** The process's pino logger (fastify's loggerInstance). @default fastify's silent logger */
  logger?: FastifyBaseLogger;
  /** The service's Registry, served at /metrics. The app passes its own; @default a new dcache registry */
  registry?: Registry;
  /** Request body limit; batches need more than one value. @default 4 × maxValueBytes + 1 MiB */
  bodyLimit?: number;
}

/** A fastify server with dcache's envelope, routes and /metrics: what the binary and the tests run. */
export async function createDcacheServer(options: DcacheServerOptions): Promise<FastifyInstance> {
  const app = createHttpServer({
    errorEnvelope: DCACHE_ERROR_ENVELOPE,
    bodyLimit: options.bodyLimit ?? options.node.options.maxValueBytes * 4 + 1024 * 1024,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const registry = options.registry ?? createMetricsRegistry({ service: 'dcache' });
  await app.register(dcachePlugin, { node: options.node, registry });
  return app;
}
