import { metricsRoute } from '@kvforge/metrics';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { Registry } from 'prom-client';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import type { PartitionTable } from '../core/partition-table';
import { registerDcacheMetrics } from '../node/dcache-metrics';
import type { DcacheNode, MemberHealth } from '../node/dcache-node';
import { LOCAL_ONLY_HEADER, RING_VERSION_HEADER, TOKEN_HEADER } from '../node/peer-client';

export interface DcachePluginOptions {
  node: DcacheNode;
  /** Serves Prometheus text at /metrics when given. */
  registry?: Registry;
  /** Largest batch accepted by the batch endpoints. */
  maxBatchKeys?: number;
}

const invalid = (message: string) => new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, message);
const JSON_TYPE = 'application/json; charset=utf-8';

function keyParameter(request: FastifyRequest): string {
  const key = (request.params as { '*'?: string })['*'] ?? '';
  if (key.length === 0) throw invalid('key must not be empty');
  return key;
}

function objectBody(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalid('body must be a JSON object');
  return body as Record<string, unknown>;
}

/** `{value, ttl_seconds?}` → serialised value and TTL in ms. */
function valueFromBody(body: Record<string, unknown>): { valueJson: string; ttlMs: number } {
  let valueJson: string;
  if (typeof body.value_json === 'string') valueJson = body.value_json;
  else if (!('value' in body) || body.value === undefined) throw invalid('body must contain "value"');
  else valueJson = JSON.stringify(body.value);
  let ttlMs = 0;
  if (body.ttl_ms !== undefined) {
    if (typeof body.ttl_ms !== 'number' || !Number.isFinite(body.ttl_ms) || body.ttl_ms < 0) {
      throw invalid('ttl_ms must be a non-negative number');
    }
    ttlMs = body.ttl_ms;
  }
  if (body.ttl_seconds !== undefined) {
    if (typeof body.ttl_seconds !== 'number' || !Number.isFinite(body.ttl_seconds) || body.ttl_seconds < 0) {
      throw invalid('ttl_seconds must be a non-negative number');
    }
    ttlMs = body.ttl_seconds * 1000;
  }
  return { valueJson, ttlMs };
}

function stringList(body: Record<string, unknown>, field: string, max: number): string[] {
  const list = body[field];
  if (!Array.isArray(list) || list.length === 0) throw invalid(`"${field}" must be a non-empty array`);
  if (list.length > max) throw invalid(`"${field}" holds more than ${max} entries`);
  for (const item of list) {
    if (typeof item !== 'string' || item.length === 0)
      throw invalid(`"${field}" must hold non-empty strings`);
  }
  return list as string[];
}

const isLoopback = (ip: string) =>
  ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1' || ip.startsWith('127.');

/** The spec's routes (client, internal, admin), the batch additions and /metrics, over one DcacheNode. */
async function dcacheRoutes(app: FastifyInstance, options: DcachePluginOptions): Promise<void> {
  const node = options.node;
  const maxBatchKeys = options.maxBatchKeys ?? 10_000;
  const nodeIdJson = JSON.stringify(node.nodeId);
  const now = () => new Date().toISOString();

  if (options.registry) {
    const metrics = registerDcacheMetrics(node, options.registry);
    // Label children cached per method/route/status: no label hashing per request.
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
    await app.register(metricsRoute(options.registry));
  }

  const sendRead = (reply: FastifyReply, key: string, found: boolean, valueJson: string, nodeId: string) =>
    reply
      .code(found ? 200 : 404)
      .header(RING_VERSION_HEADER, node.table.version)
      .type(JSON_TYPE)
      .send(
        `{"key":${JSON.stringify(key)},"value":${valueJson},"found":${found},"node_id":${nodeId === node.nodeId ? nodeIdJson : JSON.stringify(nodeId)}}`,
      );

  // ------------------------------------------------------------ client API
  // `/api/v1/cache/` (no key) would otherwise be a 404 from the router.
  app.route({
    method: ['GET', 'PUT', 'DELETE'],
    url: '/api/v1/cache',
    handler: async () => {
      throw invalid('key must not be empty');
    },
  });

  // The hot path: a local hit answers synchronously (no promise); everything else goes through node.get.
  app.get('/api/v1/cache/*', (request, reply) => {
    const key = keyParameter(request);
    const local = node.localHit(key);
    if (local !== undefined) return sendRead(reply, key, true, local.valueJson, node.nodeId);
    return node.get(key, true).then((result) =>
      result.rawBody !== undefined
        ? reply
            .code(result.found ? 200 : 404)
            .header(RING_VERSION_HEADER, node.table.version)
            .type(JSON_TYPE)
            .send(result.rawBody)
        : sendRead(reply, key, result.found, result.valueJson, result.nodeId),
    );
  });

  app.put('/api/v1/cache/*', async (request, reply) => {
    const key = keyParameter(request);
    const { valueJson, ttlMs } = valueFromBody(objectBody(request));
    const result = await node.set(key, valueJson, ttlMs);
    return reply
      .header(RING_VERSION_HEADER, node.table.version)
      .type(JSON_TYPE)
      .send(
        `{"key":${JSON.stringify(key)},"value":${valueJson},"found":true,"node_id":${JSON.stringify(result.nodeId)},"message":"success"}`,
      );
  });

  app.delete('/api/v1/cache/*', async (request, reply) => {
    const key = keyParameter(request);
    const result = await node.delete(key);
    reply.header(RING_VERSION_HEADER, node.table.version);
    return { message: 'deleted', key, node_id: result.nodeId, existed: result.existed };
  });

  app.post('/api/v1/cache/batch/get', async (request, reply) => {
    const keys = stringList(objectBody(request), 'keys', maxBatchKeys);
    const results = await node.batchGet(keys);
    const parts = results.map(
      (result) =>
        `{"key":${JSON.stringify(result.key)},"value":${result.valueJson},"found":${result.found},"node_id":${JSON.stringify(result.nodeId)}}`,
    );
    return reply
      .header(RING_VERSION_HEADER, node.table.version)
      .type(JSON_TYPE)
      .send(`{"results":[${parts.join(',')}],"count":${results.length},"node_id":${nodeIdJson}}`);
  });

  app.post('/api/v1/cache/batch/set', async (request, reply) => {
    const body = objectBody(request);
    const items = body.items;
    if (!Array.isArray(items) || items.length === 0) throw invalid('"items" must be a non-empty array');
    if (items.length > maxBatchKeys) throw invalid(`"items" holds more than ${maxBatchKeys} entries`);
    const parsed = items.map((item: unknown) => {
      if (item === null || typeof item !== 'object') throw invalid('each item must be an object');
      const record = item as Record<string, unknown>;
      if (typeof record.key !== 'string' || record.key.length === 0)
        throw invalid('each item needs a non-empty "key"');
      return { key: record.key, ...valueFromBody(record) };
    });
    const nodeIds = await node.batchSet(parsed);
    reply.header(RING_VERSION_HEADER, node.table.version);
    return {
      message: 'success',
      count: parsed.length,
      results: parsed.map((item, index) => ({ key: item.key, node_id: nodeIds[index] })),
      node_id: node.nodeId,
    };
  });

  app.post('/api/v1/cache/batch/delete', async (request, reply) => {
    const keys = stringList(objectBody(request), 'keys', maxBatchKeys);
    const nodeIds = await node.batchDelete(keys);
    reply.header(RING_VERSION_HEADER, node.table.version);
    return {
      message: 'deleted',
      count: keys.length,
      results: keys.map((key, index) => ({ key, node_id: nodeIds[index] })),
      node_id: node.nodeId,
    };
  });

  const nodeView = (nodeId: string, address: string, state: MemberHealth | undefined) => {
    const self = nodeId === node.nodeId;
    return {
      node_id: nodeId,
      address,
      status: self ? 'healthy' : (state?.status ?? 'healthy'),
      last_seen: new Date(self ? Date.now() : state?.lastSeen || node.lastMembershipChange).toISOString(),
      response_time: self ? 0 : (state?.responseTimeMs ?? 0),
    };
  };
  const clusterStatus = () => {
    const nodes = node.table.members.map((member) =>
      nodeView(member.nodeId, member.address, node.health.get(member.nodeId)),
    );
    const healthy = nodes.filter((entry) => entry.status === 'healthy').length;
    return {
      total_nodes: nodes.length,
      healthy_nodes: healthy,
      unhealthy_nodes: nodes.length - healthy,
      nodes,
      last_update: new Date(node.lastMembershipChange).toISOString(),
    };
  };
  const cacheStats = () => {
    const stats = node.store.snapshotStats();
    const requests = stats.hits + stats.misses;
    return {
      total_Hits: stats.hits,
      total_Misses: stats.misses,
      total_Size: stats.entries,
      total_Bytes: stats.bytes,
      total_Requests: requests,
      hit_Rate: requests === 0 ? 0 : stats.hits / requests,
      total_Evictions: stats.evictions,
      total_Expired: stats.expired,
    };
  };

  app.get('/api/v1/stats', async () => ({
    node_id: node.nodeId,
    cache_stats: cacheStats(),
    cluster_stats: clusterStatus(),
    timestamp: now(),
  }));

  app.get('/api/v1/health', async () => ({
    status: 'healthy',
    node_id: node.nodeId,
    timestamp: now(),
    uptime: Math.floor((Date.now() - node.startedAt) / 1000),
  }));

  /** The routing table for smart clients (an addition; public like the cache API). */
  app.get('/api/v1/cluster/ring', async () => ({
    ring_version: node.table.version,
    partition_count: node.table.partitionCount,
    members: node.table.members.map((member) => ({ node_id: member.nodeId, address: member.address })),
    owners: node.table.owners,
  }));

  // Internal and admin routes live in their own scope so the guard costs client routes nothing.
  await app.register(async (guarded) => {
    // /internal and /admin: the cluster token when configured, else loopback and ring members only.
    guarded.addHook('onRequest', async (request) => {
      const token = node.options.clusterToken;
      if (token !== undefined) {
        const bearer = request.headers.authorization;
        if (request.headers[TOKEN_HEADER] === token || bearer === `Bearer ${token}`) return;
        throw new DcacheError(DCACHE_ERROR_CODES.UNAUTHORIZED, 'cluster token required');
      }
      const ip = request.ip;
      if (isLoopback(ip)) return;
      if (node.table.members.some((member) => member.address.split(':')[0] === ip)) return;
      throw new DcacheError(
        DCACHE_ERROR_CODES.UNAUTHORIZED,
        'internal and admin routes accept cluster peers only',
      );
    });

    // ------------------------------------------------------------ internal API
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

    guarded.get('/internal/cache/*', async (request, reply) => {
      const key = keyParameter(request);
      if (request.headers[LOCAL_ONLY_HEADER] === '1') {
        const entry = node.localGet(key);
        return {
          node_id: node.nodeId,
          entry:
            entry === undefined
              ? null
              : [entry.key, entry.valueJson, entry.version, entry.expiresAt, entry.deleted ? 1 : 0],
        };
      }
      checkRing(request, key);
      const result = await node.ownerGet(key);
      return sendRead(reply, key, result.found, result.valueJson, result.nodeId);
    });

    guarded.put('/internal/cache/*', async (request, reply) => {
      const key = keyParameter(request);
      checkRing(request, key);
      const { valueJson, ttlMs } = valueFromBody(objectBody(request));
      await node.ownerSet(key, valueJson, ttlMs);
      return reply
        .type(JSON_TYPE)
        .send(
          `{"key":${JSON.stringify(key)},"value":${valueJson},"found":true,"node_id":${nodeIdJson},"message":"success"}`,
        );
    });

    guarded.delete('/internal/cache/*', async (request) => {
      const key = keyParameter(request);
      checkRing(request, key);
      const result = await node.ownerDelete(key);
      return { message: 'deleted', key, node_id: node.nodeId, existed: result.existed };
    });

    guarded.post('/internal/batch/get', async (request, reply) => {
      const keys = stringList(objectBody(request), 'keys', maxBatchKeys);
      const results = await node.ownerBatchGet(keys);
      const parts = results.map(
        (result, index) =>
          `{"key":${JSON.stringify(keys[index])},"value":${result.valueJson},"found":${result.found},"node_id":${nodeIdJson}}`,
      );
      return reply.type(JSON_TYPE).send(`{"results":[${parts.join(',')}]}`);
    });

    guarded.post('/internal/batch/set', async (request) => {
      const items = objectBody(request).items;
      if (!Array.isArray(items)) throw invalid('"items" must be an array');
      await node.ownerBatchSet(
        items.map((item: Record<string, unknown>) => {
          if (typeof item?.key !== 'string') throw invalid('each item needs a "key"');
          return { key: item.key, ...valueFromBody(item) };
        }),
      );
      return { message: 'success', node_id: node.nodeId };
    });

    guarded.post('/internal/batch/delete', async (request) => {
      await node.ownerBatchDelete(stringList(objectBody(request), 'keys', maxBatchKeys));
      return { message: 'deleted', node_id: node.nodeId };
    });

    guarded.post('/internal/replicate', async (request) => {
      const entries = objectBody(request).entries;
      if (!Array.isArray(entries)) throw invalid('"entries" must be an array');
      return { applied: node.applyEntries(entries), node_id: node.nodeId };
    });

    guarded.post('/internal/migrate/fetch', async (request) => {
      const partitions = objectBody(request).partitions;
      if (!Array.isArray(partitions) || !partitions.every((value) => Number.isInteger(value))) {
        throw invalid('"partitions" must be an array of integers');
      }
      return { entries: node.exportPartitions(partitions as number[]), node_id: node.nodeId };
    });

    guarded.post('/internal/cluster/join', async (request) => {
      const body = objectBody(request);
      if (typeof body.node_id !== 'string' || body.node_id.length === 0)
        throw invalid('"node_id" is required');
      if (typeof body.address !== 'string' || !/^[^:\s]+:\d+$/.test(body.address)) {
        throw invalid('"address" must be host:port');
      }
      let table: PartitionTable;
      try {
        table = await node.handleJoin({ nodeId: body.node_id, address: body.address });
      } catch (error) {
        if (error instanceof DcacheError && error.code === DCACHE_ERROR_CODES.INVALID_REQUEST) throw error;
        throw new DcacheError(DCACHE_ERROR_CODES.ADD_NODE, `join failed: ${String(error)}`, { cause: error });
      }
      return { message: 'node joined', node_id: body.node_id, ring_version: table.version, table };
    });

    guarded.post('/internal/cluster/leave', async (request) => {
      const body = objectBody(request);
      if (typeof body.node_id !== 'string' || body.node_id.length === 0)
        throw invalid('"node_id" is required');
      let table: PartitionTable;
      try {
        table = await node.handleLeave(body.node_id);
      } catch (error) {
        if (error instanceof DcacheError && error.code === DCACHE_ERROR_CODES.NODE_NOT_FOUND) throw error;
        throw new DcacheError(DCACHE_ERROR_CODES.REMOVE_NODE, `leave failed: ${String(error)}`, {
          cause: error,
        });
      }
      return { message: 'node left', node_id: body.node_id, ring_version: table.version, table };
    });

    guarded.get('/internal/cluster/health', async () => ({
      status: node.isJoined ? 'healthy' : 'joining',
      node_id: node.nodeId,
      ring_version: node.table.version,
      coordinator: node.coordinatorId(),
      migrating: node.isMigrating,
      timestamp: now(),
    }));

    guarded.get('/internal/cluster/table', async () => node.table);

    guarded.post('/internal/cluster/table', async (request) => {
      const installed = node.installTable(objectBody(request) as unknown as PartitionTable);
      return { installed, ring_version: node.table.version, node_id: node.nodeId };
    });

    guarded.post('/internal/cluster/probe', async (request) => {
      const body = objectBody(request);
      if (typeof body.node_id !== 'string' || typeof body.address !== 'string') {
        throw invalid('"node_id" and "address" are required');
      }
      return { reachable: await node.probeFor(body.node_id, body.address), node_id: node.nodeId };
    });

    // ------------------------------------------------------------ admin API
    guarded.get('/admin/cluster', async () => ({
      cluster_status: clusterStatus(),
      current_node: node.nodeId,
      ring_version: node.table.version,
      timestamp: now(),
    }));

    guarded.get('/admin/nodes', async () => {
      const nodes: Record<string, ReturnType<typeof nodeView>> = {};
      for (const member of node.table.members) {
        nodes[member.nodeId] = nodeView(member.nodeId, member.address, node.health.get(member.nodeId));
      }
      return { nodes, count: node.table.members.length, timestamp: now() };
    });

    guarded.get('/admin/metrics', async () => {
      const status = clusterStatus();
      const migration = node.migration;
      return {
        node_id: node.nodeId,
        cache_stats: cacheStats(),
        migration_stats: {
          MigratedKeys: migration.migratedKeys,
          Duration: `${migration.durationMs}ms`,
          LastMigration:
            migration.lastMigration === 0 ? null : new Date(migration.lastMigration).toISOString(),
          Running: migration.running,
          PendingPartitions: migration.pendingPartitions,
          Migrations: migration.migrations,
        },
        cluster_stats: {
          total_nodes: status.total_nodes,
          healthy_nodes: status.healthy_nodes,
          unhealthy_nodes: status.unhealthy_nodes,
        },
        forward_stats: { ...node.counters },
        ring_version: node.table.version,
        timestamp: now(),
      };
    });

    guarded.post('/admin/cluster/rebalance', async () => {
      const result = await node.rebalance();
      return {
        message: 'rebalance completed',
        node_id: node.nodeId,
        ring_version: result.ringVersion,
        moved_partitions: result.movedPartitions,
        timestamp: now(),
      };
    });
  });
}

export const dcachePlugin = fastifyPlugin(dcacheRoutes, { name: '@kvforge/dcache', fastify: '5.x' });
