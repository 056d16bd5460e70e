import { metricsRoute } from '@kvforge/metrics';
import type { FastifyInstance } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { Registry } from 'prom-client';
import { registerDcacheMetrics } from '../node/dcache-metrics';
import type { DcacheNode } from '../node/dcache-node';
import { registerAdminRoutes } from './admin-routes';
import { registerClientRoutes } from './client-routes';
import { registerInternalRoutes } from './internal-routes';
import { peerGuard } from './peer-guard';
import { bodySchemas } from './route-schemas';

export interface DcachePluginOptions {
  node: DcacheNode;
  /** Serves Prometheus text at /metrics when given. */
  registry?: Registry;
  /** Largest batch accepted by the batch endpoints. */
  maxBatchKeys?: number;
}

/** Request durations per method/route/status; label children cached so no label hashing per request. */
function observeRequests(app: FastifyInstance, node: DcacheNode, registry: Registry): void {
  const metrics = registerDcacheMetrics(node, registry);
  const children = new Map<string, { observe(value: number): void }>();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const id = `${request.method} ${reply.statusCode} ${route}`;
    let child = children.get(id);
    if (child === undefined) {
      child = metrics.requestDuration.labels(request.method, route, String(reply.statusCode));
      children.set(id, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });
}

/** The spec's routes (client, internal, admin), the batch additions and /metrics, over one DcacheNode. */
async function dcacheRoutes(app: FastifyInstance, options: DcachePluginOptions): Promise<void> {
  const node = options.node;
  const bodies = bodySchemas({
    maxBatchKeys: options.maxBatchKeys ?? 10_000,
    partitionCount: node.options.partitionCount,
    maxKeyBytes: node.options.maxKeyBytes,
  });
  if (options.registry) {
    observeRequests(app, node, options.registry);
    await app.register(metricsRoute(options.registry));
  }
  registerClientRoutes(app, node, bodies);
  // Internal and admin routes live in their own scope so the guard costs client routes nothing.
  await app.register(async (guarded) => {
    guarded.addHook('onRequest', peerGuard(node));
    registerInternalRoutes(guarded, node, bodies);
    registerAdminRoutes(guarded, node, bodies);
  });
}

export const dcachePlugin = fastifyPlugin(dcacheRoutes, { name: '@kvforge/dcache', fastify: '5.x' });
