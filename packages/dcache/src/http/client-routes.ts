import type { ZodTypeProvider } from '@kvforge/common-http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { RING_VERSION_HEADER } from '../core/internal-api';
import type { DcacheNode } from '../node/dcache-node';
import type { ReadSink } from '../node/read-batcher';
import { type BodySchemas, noQuery, storedValue } from './route-schemas';
import { cacheStats, clusterStatus, isoNow, readBody, writeBody } from './views';

export const JSON_TYPE = 'application/json; charset=utf-8';

/** The spec's client API (`/api/v1/…`), the batch additions and the smart-client ring. */
export function registerClientRoutes(parent: FastifyInstance, node: DcacheNode, bodies: BodySchemas): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  const nodeIdJson = JSON.stringify(node.nodeId);
  const idJson = (nodeId: string) => (nodeId === node.nodeId ? nodeIdJson : JSON.stringify(nodeId));

  const sendRead = (reply: FastifyReply, key: string, found: boolean, valueJson: string, nodeId: string) =>
    reply
      .code(found ? 200 : 404)
      .header(RING_VERSION_HEADER, node.table.version)
      .type(JSON_TYPE)
      .send(readBody(JSON.stringify(key), valueJson, found, idJson(nodeId)));

  // `/api/v1/cache/` (no key) would otherwise be a 404 from the router.
  app.route({
    method: ['GET', 'PUT', 'DELETE'],
    url: '/api/v1/cache',
    schema: { querystring: noQuery },
    handler: async () => {
      throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, 'key must not be empty');
    },
  });

  // One sink for every forwarded read (the reply is the token): no closure per request.
  const forwardedReads: ReadSink<FastifyReply> = {
    raw: (reply, statusCode, body) =>
      reply.code(statusCode).header(RING_VERSION_HEADER, node.table.version).type(JSON_TYPE).send(body),
    result: (reply, key, result) =>
      result.rawBody !== undefined
        ? reply
            .code(result.found ? 200 : 404)
            .header(RING_VERSION_HEADER, node.table.version)
            .type(JSON_TYPE)
            .send(result.rawBody)
        : sendRead(reply, key, result.found, result.valueJson, result.nodeId),
    fail: (reply, error) => reply.send(error),
  };

  // The hot path: a local hit answers synchronously (no promise); anything else is forwarded
  // (batched by owner per event-loop turn) and the owner's body is passed through as is.
  app.get('/api/v1/cache/*', { schema: { params: bodies.keyParams } }, (request, reply) => {
    const key = request.params['*'];
    const local = node.localHit(key);
    if (local !== undefined) return sendRead(reply, key, true, local.valueJson, node.nodeId);
    node.forwardRead(key, forwardedReads, reply);
    return reply;
  });

  app.put(
    '/api/v1/cache/*',
    { schema: { params: bodies.keyParams, body: bodies.value } },
    async (request, reply) => {
      const key = request.params['*'];
      const { valueJson, ttlMs } = storedValue(request.body);
      const result = await node.set(key, valueJson, ttlMs);
      return reply
        .header(RING_VERSION_HEADER, node.table.version)
        .type(JSON_TYPE)
        .send(writeBody(JSON.stringify(key), valueJson, idJson(result.nodeId)));
    },
  );

  app.delete('/api/v1/cache/*', { schema: { params: bodies.keyParams } }, async (request, reply) => {
    const key = request.params['*'];
    const result = await node.delete(key);
    reply.header(RING_VERSION_HEADER, node.table.version);
    return { message: 'deleted', key, node_id: result.nodeId, existed: result.existed };
  });

  app.post('/api/v1/cache/batch/get', { schema: { body: bodies.keys } }, async (request, reply) => {
    const results = await node.batchGet(request.body.keys);
    const parts = results.map((result) =>
      readBody(JSON.stringify(result.key), result.valueJson, result.found, idJson(result.nodeId)),
    );
    return reply
      .header(RING_VERSION_HEADER, node.table.version)
      .type(JSON_TYPE)
      .send(`{"results":[${parts.join(',')}],"count":${results.length},"node_id":${nodeIdJson}}`);
  });

  app.post('/api/v1/cache/batch/set', { schema: { body: bodies.batchSet } }, async (request, reply) => {
    const items = request.body.items.map((item) => ({ key: item.key, ...storedValue(item) }));
    const nodeIds = await node.batchSet(items);
    reply.header(RING_VERSION_HEADER, node.table.version);
    return {
      message: 'success',
      count: items.length,
      results: items.map((item, index) => ({ key: item.key, node_id: nodeIds[index] })),
      node_id: node.nodeId,
    };
  });

  app.post('/api/v1/cache/batch/delete', { schema: { body: bodies.keys } }, async (request, reply) => {
    const keys = request.body.keys;
    const nodeIds = await node.batchDelete(keys);
    reply.header(RING_VERSION_HEADER, node.table.version);
    return {
      message: 'deleted',
      count: keys.length,
      results: keys.map((key, index) => ({ key, node_id: nodeIds[index] })),
      node_id: node.nodeId,
    };
  });

  app.get('/api/v1/stats', { schema: { querystring: noQuery } }, async () => ({
    node_id: node.nodeId,
    cache_stats: cacheStats(node),
    cluster_stats: clusterStatus(node),
    timestamp: isoNow(),
  }));

  app.get('/api/v1/health', { schema: { querystring: noQuery } }, async () => ({
    status: 'healthy',
    node_id: node.nodeId,
    timestamp: isoNow(),
    uptime: Math.floor((node.options.clock.now() - node.startedAt) / 1000),
  }));

  /** The routing table for smart clients (an addition; public like the cache API). */
  app.get('/api/v1/cluster/ring', { schema: { querystring: noQuery } }, async () => ({
    ring_version: node.table.version,
    partition_count: node.table.partitionCount,
    members: node.table.members.map((member) => ({ node_id: member.nodeId, address: member.address })),
    owners: node.table.owners,
  }));
}
