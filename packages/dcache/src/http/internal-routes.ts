import type { ZodTypeProvider } from '@kvforge/common-http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { LOCAL_ONLY_HEADER, RING_VERSION_HEADER } from '../core/internal-api';
import { isNewerTable, type PartitionTable, tableFingerprint } from '../core/partition-table';
import { checkedTable } from '../core/table-validation';
import { toWire } from '../core/wire-entry';
import type { DcacheNode } from '../node/dcache-node';
import { JSON_TYPE } from './client-routes';
import { type BodySchemas, noQuery, storedValue } from './route-schemas';
import { isoNow, readBody, writeBody } from './views';

/** The spec's internal API (node to node): owner-side cache operations, replication, migration, membership. */
export function registerInternalRoutes(parent: FastifyInstance, node: DcacheNode, bodies: BodySchemas): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  const nodeIdJson = JSON.stringify(node.nodeId);

  /** An internal cache call from a node with a different table: a stale caller is told so (421). */
  const checkRing = (request: FastifyRequest, key: string) => {
    const header = request.headers[RING_VERSION_HEADER];
    if (typeof header !== 'string') return;
    const callerVersion = Number(header);
    if (callerVersion < node.table.version && !node.holdersOf(key).holders.includes(node.nodeId)) {
      throw new DcacheError(
        DCACHE_ERROR_CODES.STALE_RING,
        `ring version ${callerVersion} is older than ${node.table.version}`,
      );
    }
  };

  // `/internal/cache/` (no key) would otherwise be a 404 from the router.
  app.route({
    method: ['GET', 'PUT', 'DELETE'],
    url: '/internal/cache',
    schema: { querystring: noQuery },
    handler: async () => {
      throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, 'key must not be empty');
    },
  });

  app.get('/internal/cache/*', { schema: { params: bodies.keyParams } }, async (request, reply) => {
    const key = request.params['*'];
    if (request.headers[LOCAL_ONLY_HEADER] === '1') {
      const entry = node.localGet(key);
      return { node_id: node.nodeId, entry: entry === undefined ? null : toWire(entry) };
    }
    checkRing(request, key);
    const result = await node.ownerGet(key);
    return reply
      .code(result.found ? 200 : 404)
      .header(RING_VERSION_HEADER, node.table.version)
      .type(JSON_TYPE)
      .send(readBody(JSON.stringify(key), result.valueJson, result.found, nodeIdJson));
  });

  app.put(
    '/internal/cache/*',
    { schema: { params: bodies.keyParams, body: bodies.internalValue } },
    async (request, reply) => {
      const key = request.params['*'];
      checkRing(request, key);
      const { valueJson, ttlMs } = storedValue(request.body);
      await node.ownerSet(key, valueJson, ttlMs);
      return reply.type(JSON_TYPE).send(writeBody(JSON.stringify(key), valueJson, nodeIdJson));
    },
  );

  app.delete('/internal/cache/*', { schema: { params: bodies.keyParams } }, async (request) => {
    const key = request.params['*'];
    checkRing(request, key);
    const result = await node.ownerDelete(key);
    return { message: 'deleted', key, node_id: node.nodeId, existed: result.existed };
  });

  app.post('/internal/batch/get', { schema: { body: bodies.keys } }, async (request, reply) => {
    const keys = request.body.keys;
    const results = await node.ownerBatchGet(keys);
    const parts = results.map((result, index) =>
      readBody(JSON.stringify(keys[index]), result.valueJson, result.found, nodeIdJson),
    );
    return reply.type(JSON_TYPE).send(`{"results":[${parts.join(',')}]}`);
  });

  app.post('/internal/batch/set', { schema: { body: bodies.internalBatchSet } }, async (request) => {
    await node.ownerBatchSet(request.body.items.map((item) => ({ key: item.key, ...storedValue(item) })));
    return { message: 'success', node_id: node.nodeId };
  });

  app.post('/internal/batch/delete', { schema: { body: bodies.keys } }, async (request) => {
    await node.ownerBatchDelete(request.body.keys);
    return { message: 'deleted', node_id: node.nodeId };
  });

  app.post('/internal/replicate', { schema: { body: bodies.replicate } }, async (request) => ({
    applied: node.applyEntries(request.body.entries),
    node_id: node.nodeId,
  }));

  app.post('/internal/migrate/fetch', { schema: { body: bodies.migrateFetch } }, async (request) => ({
    entries: node.exportPartitions(request.body.partitions),
    node_id: node.nodeId,
  }));

  app.post('/internal/cluster/join', { schema: { body: bodies.join } }, async (request) => {
    const body = request.body;
    let table: PartitionTable;
    try {
      table = await node.handleJoin({ nodeId: body.node_id, address: body.address }, body.ring_version ?? 0);
    } catch (error) {
      if (error instanceof DcacheError && error.code === DCACHE_ERROR_CODES.INVALID_REQUEST) throw error;
      throw new DcacheError(DCACHE_ERROR_CODES.ADD_NODE, `join failed: ${String(error)}`, { cause: error });
    }
    return { message: 'node joined', node_id: body.node_id, ring_version: table.version, table };
  });

  app.post('/internal/cluster/leave', { schema: { body: bodies.leave } }, async (request) => {
    const nodeId = request.body.node_id;
    let table: PartitionTable;
    try {
      table = await node.handleLeave(nodeId);
    } catch (error) {
      if (error instanceof DcacheError && error.code === DCACHE_ERROR_CODES.NODE_NOT_FOUND) throw error;
      throw new DcacheError(DCACHE_ERROR_CODES.REMOVE_NODE, `leave failed: ${String(error)}`, {
        cause: error,
      });
    }
    return { message: 'node left', node_id: nodeId, ring_version: table.version, table };
  });

  app.get('/internal/cluster/health', { schema: { querystring: noQuery } }, async () => ({
    status: node.isJoined ? 'healthy' : 'joining',
    node_id: node.nodeId,
    ring_version: node.table.version,
    ring_coordinator: node.table.coordinator,
    ring_members: tableFingerprint(node.table),
    coordinator: node.coordinatorId(),
    migrating: node.isMigrating,
    timestamp: isoNow(),
  }));

  app.get('/internal/cluster/table', { schema: { querystring: noQuery } }, async () => node.table);

  // The schema checks the shape; the semantic checks (partition count, every partition held by
  // members) and the version run before the table replaces the node's: a bad push changes nothing.
  app.post('/internal/cluster/table', { schema: { body: bodies.table } }, async (request) => {
    const table = checkedTable(request.body, node.options.partitionCount);
    if (!isNewerTable(table, node.table)) {
      throw new DcacheError(
        DCACHE_ERROR_CODES.INVALID_REQUEST,
        `stale partition table: version ${table.version} (${table.coordinator}) is not newer than ${node.table.version} (${node.table.coordinator})`,
      );
    }
    const installed = node.installTable(table);
    return { installed, ring_version: node.table.version, node_id: node.nodeId };
  });

  app.post('/internal/cluster/probe', { schema: { body: bodies.probe } }, async (request) => ({
    reachable: await node.probeFor(request.body.node_id, request.body.address),
    node_id: node.nodeId,
  }));
}
