import type { FastifyPluginAsyncZod } from '@kvforge/common-http';
import type { FastifyReply } from 'fastify';
import { MEDIUM, MEDIUM_NAMES, type Medium, MMC } from '../core/codes';
import type { KeyInfo, MetaService } from '../core/meta-service';
import { renderPrometheus, renderSummary } from '../core/render-metrics';
import type { MetadataStore } from '../metadata/file-metadata-store';
import { errorBody, MESSAGES, MmcHttpError } from './error-envelope';
import { ROUTE_SCHEMAS as SCHEMAS } from './route-schemas';

export interface HaSnapshot {
  role: 'leader' | 'standby' | 'unknown';
  haState: 'starting' | 'standby' | 'serving' | 'unknown';
  leaderPresent: boolean;
  leaderAddress: string;
  viewVersion: number;
}

function haRole(snapshot: HaSnapshot) {
  return { leading: snapshot.role === 'leader', viewVersion: snapshot.viewVersion };
}

/** A meta service without HA is the leader of itself (README, decision 1). */
export function standaloneHaSnapshot(leaderAddress: string): HaSnapshot {
  return { role: 'leader', haState: 'serving', leaderPresent: true, leaderAddress, viewVersion: 0 };
}

export interface MemcacheRestOptions {
  service: MetaService;
  /** HA view; a standalone meta service is the leader of itself (see README). */
  ha: () => HaSnapshot;
  /** The /metadata key-value store (raw values): a `FileMetadataStore`, or in memory (a Map) by default. */
  metadata?: MetadataStore;
  now?: () => Date;
  /** HA: a reason to refuse writes (a standby), or undefined while this node may write. */
  refuseWrite?: () => string | undefined;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const PROMETHEUS = 'text/plain; version=0.0.4';

/**
 * All 24 REST endpoints of the memcache-hybrid spec, each with zod schemas for its query and body (the
 * envelope turns a schema failure into the HTTP-200 error form). Register without fastify-plugin: it
 * owns its body parser.
 */
export const memcacheRestPlugin: FastifyPluginAsyncZod<MemcacheRestOptions> = async (app, options) => {
  const { service } = options;
  const metadata: MetadataStore = options.metadata ?? new Map<string, Buffer>();
  const now = options.now ?? (() => new Date());

  // Metadata values are stored byte for byte, whatever the content type (curl --data sends a form type).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const text = (reply: FastifyReply, body: string | Buffer) => reply.type(TEXT).send(body);
  const json = (reply: FastifyReply, body: unknown) => reply.type(JSON_TYPE).send(body);
  const writable = () => {
    const refusal = options.refuseWrite?.();
    if (refusal !== undefined) throw new MmcHttpError(refusal);
  };

  app.get('/metadata', { schema: SCHEMAS.key }, async (request, reply) => {
    const value = metadata.get(request.query.key);
    if (value === undefined) throw new MmcHttpError(MESSAGES.metadataKeyNotFound);
    return text(reply, value);
  });
  app.put('/metadata', { schema: SCHEMAS.metadataPut }, async (request, reply) => {
    writable();
    const body = request.body;
    await metadata.set(request.query.key, body ? Buffer.from(body) : Buffer.alloc(0));
    return text(reply, 'metadata updated');
  });
  app.delete('/metadata', { schema: SCHEMAS.keyDelete }, async (request, reply) => {
    writable();
    if (!(await metadata.delete(request.query.key))) throw new MmcHttpError(MESSAGES.metadataKeyNotFound);
    return text(reply, 'metadata deleted');
  });

  app.get('/health', { schema: SCHEMAS.noInput }, async (_request, reply) => {
    const ha = options.ha();
    return json(reply, {
      status: 'ok',
      role: ha.role,
      ha_state: ha.haState,
      service_ready: true,
      leader_address: ha.leaderAddress,
      view_version: ha.viewVersion,
    });
  });
  app.get('/role', { schema: SCHEMAS.noInput }, async (_request, reply) => text(reply, options.ha().role));
  app.get('/ha_status', { schema: SCHEMAS.noInput }, async (_request, reply) =>
    text(reply, options.ha().haState),
  );
  app.get('/leader', { schema: SCHEMAS.noInput }, async (_request, reply) => {
    const ha = options.ha();
    return json(reply, {
      present: ha.leaderPresent,
      leader_address: ha.leaderAddress,
      view_version: ha.viewVersion,
    });
  });

  app.get('/metrics', { schema: SCHEMAS.noInput }, async (_request, reply) =>
    reply.type(PROMETHEUS).send(renderPrometheus(service, haRole(options.ha()))),
  );
  app.get('/metrics/summary', { schema: SCHEMAS.noInput }, async (_request, reply) =>
    text(reply, renderSummary(service)),
  );
  app.get('/metrics/ptracer', { schema: SCHEMAS.noInput }, async (_request, reply) =>
    text(reply, service.tracer.render(now())),
  );
  app.get('/api/v1/analysis/alloc_free_latency', { schema: SCHEMAS.noInput }, async (_request, reply) =>
    text(reply, service.tracer.render(now(), ['TP_MMC_META_ALLOC', 'TP_MMC_META_REMOVE'])),
  );

  app.get('/query_key', { schema: SCHEMAS.key }, async (request, reply) => {
    const outcome = service.query(request.query.key);
    if (outcome.result === MMC.UNMATCHED_KEY) throw new MmcHttpError(MESSAGES.keyNotFound);
    if (!outcome.info) throw new MmcHttpError(MESSAGES.internal);
    return json(reply, keyInfoJson(outcome.info));
  });
  app.get('/batch_query_keys', { schema: SCHEMAS.keys }, async (request, reply) => {
    const { items } = service.batchQuery(request.query.keys);
    return json(reply, { success: true, data: items.map(keyInfoJson) });
  });
  app.delete('/key', { schema: SCHEMAS.keyDelete }, async (request, reply) => {
    writable();
    const result = service.remove(request.query.key);
    if (result === MMC.UNMATCHED_KEY) throw new MmcHttpError(MESSAGES.keyNotFound);
    if (result !== MMC.OK) throw new MmcHttpError(MESSAGES.internal);
    return json(reply, { success: true, message: 'key deleted' });
  });
  app.delete('/all_keys', { schema: SCHEMAS.noInputDelete }, async (_request, reply) => {
    writable();
    if (service.removeAll() !== MMC.OK) throw new MmcHttpError(MESSAGES.internal);
    return json(reply, { success: true, message: 'all keys deleted' });
  });
  app.get('/get_all_keys', { schema: SCHEMAS.noInput }, async (_request, reply) => {
    const keys = service.getAllKeys();
    return text(reply, keys.length === 0 ? '' : `${keys.join('\n')}\n`);
  });

  app.get('/get_all_segments', { schema: SCHEMAS.noInput }, async (_request, reply) => {
    const names = service.manager.listSegments().map((segment) => `${segment.name}\n`);
    return text(reply, names.join(''));
  });
  app.get('/query_segment', { schema: SCHEMAS.segment }, async (request, reply) => {
    const name = request.query.segment;
    const segment = service.manager.getSegment(name);
    if (!segment) throw new MmcHttpError(MESSAGES.segmentNotFound);
    return json(reply, { segment: name, ...segmentUsage(segment.medium, segment.allocator) });
  });
  app.get('/api/v1/segments/status', { schema: SCHEMAS.segment }, async (request, reply) => {
    const name = request.query.segment;
    if (!service.manager.getSegment(name)) throw new MmcHttpError(MESSAGES.segmentNotFound);
    return json(reply, { success: true, segment: name, status: 1, status_name: 'OK' });
  });
  app.get('/api/v1/capacity/usage', { schema: SCHEMAS.noInput }, async (_request, reply) => {
    const medium = (which: Medium) => {
      const { totalBytes, usedBytes } = service.manager.usage(which);
      return {
        total_bytes: totalBytes,
        used_bytes: usedBytes,
        free_bytes: Math.max(totalBytes - usedBytes, 0),
        usage_ratio: totalBytes === 0 ? 0 : usedBytes / totalBytes,
      };
    };
    return json(reply, {
      timestamp: Math.floor(Date.now() / 1000),
      data_source_ready: true,
      degraded: false,
      npu: medium(MEDIUM.HBM),
      cpu: medium(MEDIUM.DRAM),
    });
  });
  app.get('/api/v1/capacity/segment_remaining', { schema: SCHEMAS.noInput }, async (_request, reply) => {
    const segments = service.manager.listSegments().map((segment) => {
      const { medium, ...usage } = segmentUsage(segment.medium, segment.allocator);
      return { segment_name: segment.name, medium, ...usage };
    });
    return json(reply, {
      timestamp: Math.floor(Date.now() / 1000),
      data_source_ready: true,
      degraded: false,
      segments,
    });
  });

  // Drain jobs are a target contract with no specification yet: the original answers Not supported.
  const notSupported = async (_request: unknown, reply: FastifyReply) =>
    json(reply, errorBody(MESSAGES.notSupported));
  app.post('/api/v1/drain_jobs', { schema: SCHEMAS.drainJobPost }, notSupported);
  app.get('/api/v1/drain_jobs/query', { schema: SCHEMAS.drainJobQuery }, notSupported);
  app.post('/api/v1/drain_jobs/cancel', { schema: SCHEMAS.drainJobPost }, notSupported);
};

function keyInfoJson(info: KeyInfo) {
  return {
    key: info.key,
    size: info.size,
    prot: info.prot,
    numBlobs: info.numBlobs,
    valid: info.valid,
    blobs: info.blobs.map((blob) => ({ rank: blob.rank, medium: MEDIUM_NAMES[blob.medium] })),
  };
}

function segmentUsage(medium: Medium, allocator: { capacity: number; usedBytes: number }) {
  const remaining = Math.max(allocator.capacity - allocator.usedBytes, 0);
  return {
    medium: MEDIUM_NAMES[medium],
    total_bytes: allocator.capacity,
    used_bytes: allocator.usedBytes,
    remaining_bytes: remaining,
    remaining_ratio: allocator.capacity === 0 ? 0 : remaining / allocator.capacity,
  };
}
