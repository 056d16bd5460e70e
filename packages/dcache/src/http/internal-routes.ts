import type { ZodTypeProvider } from '@kvforge/common-http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import {
  INTERNAL_PATHS,
  LOCAL_ONLY_HEADER,
  RING_VERSION_HEADER,
  SENDER_ADDRESS_HEADER,
  SENDER_HEADER,
} from '../core/internal-api';
import { isNewerTable, type PartitionTable, tableFingerprint } from '../core/partition-table';
import { encodeReadFrame } from '../core/read-frame';
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

  const callerOf = (request: FastifyRequest) => {
    const version = Number(request.headers[RING_VERSION_HEADER] ?? 0);
    const sender = request.headers[SENDER_HEADER];
    const address = request.headers[SENDER_ADDRESS_HEADER];
    return {
      version: Number.isFinite(version) ? version : 0,
      sender: typeof sender === 'string' ? sender : '',
      address: typeof address === 'string' ? address : undefined,
    };
  };

  /**
   * Before an internal cache or batch call: adopt the caller's table if it is newer; a paused node
   * confirms its own. A read of a key this node does not hold is then a 421 (the caller refreshes
   * and retries); writes are fenced further down (only the primary of the current table takes them).
   */
  const checkRing = async (request: FastifyRequest, key: string | undefined) => {
    const caller = callerOf(request);
    await node.catchUp(caller.version, caller.address);
    if (!node.tableIsFresh) await node.confirmTable();
    if (key !== undefined && !node.holdersOf(key).holders.includes(node.nodeId)) {
      throw node.staleRing(
        `${node.nodeId} does not hold ${JSON.stringify(key)} at ring version ${node.table.version}`,
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

  const sendOwnerRead = (reply: FastifyReply, key: string, found: boolean, valueJson: string) =>
    reply
      .code(found ? 200 : 404)
      .header(RING_VERSION_HEADER, node.table.version)
      .type(JSON_TYPE)
      .send(readBody(JSON.stringify(key), valueJson, found, nodeIdJson));

  const slowOwnerRead = async (request: FastifyRequest, reply: FastifyReply, key: string) => {
    await checkRing(request, key);
    const result = await node.ownerGet(key);
    return sendOwnerRead(reply, key, result.found, result.valueJson);
  };

  // The forwarded-GET hot path: answered synchronously (no promise) when the caller's table is
  // not newer, ours is confirmed, we hold the key and its partition is not arriving.
  app.get('/internal/cache/*', { schema: { params: bodies.keyParams } }, (request, reply) => {
    const key = request.params['*'];
    if (request.headers[LOCAL_ONLY_HEADER] === '1') {
      const entry = node.localGet(key);
      return reply.send({ node_id: node.nodeId, entry: entry === undefined ? null : toWire(entry) });
    }
    const entry = node.ownerReadNow(key, callerOf(request).version);
    if (entry === undefined) return slowOwnerRead(request, reply, key);
    return entry === null
      ? sendOwnerRead(reply, key, false, 'null')
      : sendOwnerRead(reply, key, true, entry.valueJson);
  });

  // Forwarded GETs coalesced by the forwarder: per key the body a single internal GET would send,
  // in a read frame. A key this node does not hold under its table gets 421 (the forwarder takes
  // the single-key path for it, which refreshes its table); the fence is the single GET's.
  app.post(INTERNAL_PATHS.batchReads, { schema: { body: bodies.keys } }, async (request, reply) => {
    const keys = request.body.keys;
    const callerVersion = callerOf(request).version;
    if (callerVersion > node.table.version || !node.tableIsFresh) await checkRing(request, undefined);
    const statuses = new Array<number>(keys.length);
    const parts = new Array<string>(keys.length);
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index]!;
      let entry: { valueJson: string } | null | undefined = node.ownerReadNow(key, callerVersion);
      if (entry === undefined) {
        if (!node.holdersOf(key).holders.includes(node.nodeId)) {
          statuses[index] = 421;
          parts[index] = '';
          continue;
        }
        const result = await node.ownerGet(key);
        entry = result.found ? { valueJson: result.valueJson } : null;
      }
      statuses[index] = entry === null ? 404 : 200;
      parts[index] = readBody(
        JSON.stringify(key),
        entry === null ? 'null' : entry.valueJson,
        entry !== null,
        nodeIdJson,
      );
    }
    return reply
      .header(RING_VERSION_HEADER, node.table.version)
      .type('text/plain; charset=utf-8')
      .send(encodeReadFrame(statuses, parts));
  });

  app.put(
    '/internal/cache/*',
    { schema: { params: bodies.keyParams, body: bodies.internalValue } },
    async (request, reply) => {
      const key = request.params['*'];
      await checkRing(request, undefined);
      const { valueJson, ttlMs } = storedValue(request.body);
      await node.ownerSet(key, valueJson, ttlMs, callerOf(request).version);
      return reply.type(JSON_TYPE).send(writeBody(JSON.stringify(key), valueJson, nodeIdJson));
    },
  );

  app.delete('/internal/cache/*', { schema: { params: bodies.keyParams } }, async (request) => {
    const key = request.params['*'];
    await checkRing(request, undefined);
    const result = await node.ownerDelete(key, callerOf(request).version);
    return { message: 'deleted', key, node_id: node.nodeId, existed: result.existed };
  });

  app.post('/internal/batch/get', { schema: { body: bodies.keys } }, async (request, reply) => {
    const keys = request.body.keys;
    await checkRing(request, undefined);
    const results = await node.ownerBatchGet(keys);
    const parts = results.map((result, index) =>
      readBody(JSON.stringify(keys[index]), result.valueJson, result.found, nodeIdJson),
    );
    return reply.type(JSON_TYPE).send(`{"results":[${parts.join(',')}]}`);
  });

  app.post('/internal/batch/set', { schema: { body: bodies.internalBatchSet } }, async (request) => {
    await checkRing(request, undefined);
    const items = request.body.items.map((item) => ({ key: item.key, ...storedValue(item) }));
    await node.ownerBatchSet(items, callerOf(request).version);
    return { message: 'success', node_id: node.nodeId };
  });

  app.post('/internal/batch/delete', { schema: { body: bodies.keys } }, async (request) => {
    await checkRing(request, undefined);
    await node.ownerBatchDelete(request.body.keys, callerOf(request).version);
    return { message: 'deleted', node_id: node.nodeId };
  });

  app.post('/internal/replicate', { schema: { body: bodies.replicate } }, async (request) => {
    const caller = callerOf(request);
    const applied = await node.acceptReplicas(
      caller.sender,
      caller.address,
      caller.version,
      request.body.entries,
    );
    return { applied, node_id: node.nodeId };
  });

  app.post('/internal/repair/digests', { schema: { body: bodies.migrateFetch } }, async (request) => ({
    digests: node.digestsOf(request.body.partitions),
    node_id: node.nodeId,
  }));

  app.post('/internal/migrate/merge', { schema: { body: bodies.replicate } }, async (request) => {
    await checkRing(request, undefined);
    return { applied: await node.mergeEntries(request.body.entries), node_id: node.nodeId };
  });

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

  // Test hook (faultInjection only): the real-process partition tests cut peers with it.
  if (node.options.faultInjection) {
    app.post(INTERNAL_PATHS.faultDeny, { schema: { body: bodies.faultDeny } }, async (request) => {
      node.peers.allow();
      node.peers.deny(request.body.addresses);
      return { denied: request.body.addresses, node_id: node.nodeId };
    });
  }

  app.post('/internal/cluster/probe', { schema: { body: bodies.probe } }, async (request) => ({
    reachable: await node.probeFor(request.body.node_id, request.body.address),
    node_id: node.nodeId,
  }));
}
