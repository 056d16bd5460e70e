import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MEDIUM, MEDIUM_NAMES, type Medium, MMC } from '../core/codes';
import type { KeyInfo, MetaService } from '../core/meta-service';
import { renderPrometheus, renderSummary } from '../core/render-metrics';
import type { MetadataStore } from '../metadata/file-metadata-store';
import { errorBody, MESSAGES, MmcHttpError } from './error-envelope';

export interface HaSnapshot {
  role: 'leader' | 'standby' | 'unknown';
  haState: 'starting' | 'standby' | 'serving' | 'unknown';
  leaderPresent: boolean;
  leaderAddress: string;
  viewVersion: number;
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
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const PROMETHEUS = 'text/plain; version=0.0.4';

/** All 24 REST endpoints of the memcache-hybrid spec. Register without fastify-plugin: it owns its body parser. */
export async function memcacheRestPlugin(app: FastifyInstance, options: MemcacheRestOptions): Promise<void> {
  const { service } = options;
  const metadata: MetadataStore = options.metadata ?? new Map<string, Buffer>();
  const now = options.now ?? (() => new Date());

  // Metadata values are stored byte for byte, whatever the content type (curl --data sends a form type).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const text = (reply: FastifyReply, body: string | Buffer) => reply.type(TEXT).send(body);
  const json = (reply: FastifyReply, body: unknown) => reply.type(JSON_TYPE).send(body);

  app.get('/metadata', async (request, reply) => {
    const value = metadata.get(requiredParameter(request, 'key'));
    if (value === undefined) throw new MmcHttpError(MESSAGES.metadataKeyNotFound);
    return text(reply, value);
  });
  app.put('/metadata', async (request, reply) => {
    const key = requiredParameter(request, 'key');
    const body = request.body;
    metadata.set(key, Buffer.isBuffer(body) ? Buffer.from(body) : Buffer.alloc(0));
    return text(reply, 'metadata updated');
  });
  app.delete('/metadata', async (request, reply) => {
    if (!metadata.delete(requiredParameter(request, 'key')))
      throw new MmcHttpError(MESSAGES.metadataKeyNotFound);
    return text(reply, 'metadata deleted');
  });

  app.get('/health', async (_request, reply) => {
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
  app.get('/role', async (_request, reply) => text(reply, options.ha().role));
  app.get('/ha_status', async (_request, reply) => text(reply, options.ha().haState));
  app.get('/leader', async (_request, reply) => {
    const ha = options.ha();
    return json(reply, {
      present: ha.leaderPresent,
      leader_address: ha.leaderAddress,
      view_version: ha.viewVersion,
    });
  });

  app.get('/metrics', async (_request, reply) => reply.type(PROMETHEUS).send(renderPrometheus(service)));
  app.get('/metrics/summary', async (_request, reply) => text(reply, renderSummary(service)));
  app.get('/metrics/ptracer', async (_request, reply) => text(reply, service.tracer.render(now())));
  app.get('/api/v1/analysis/alloc_free_latency', async (_request, reply) =>
    text(reply, service.tracer.render(now(), ['TP_MMC_META_ALLOC', 'TP_MMC_META_REMOVE'])),
  );

  app.get('/query_key', async (request, reply) => {
    const outcome = service.query(requiredParameter(request, 'key'));
    if (outcome.result === MMC.UNMATCHED_KEY) throw new MmcHttpError(MESSAGES.keyNotFound);
    if (!outcome.info) throw new MmcHttpError(MESSAGES.internal);
    return json(reply, keyInfoJson(outcome.info));
  });
  app.get('/batch_query_keys', async (request, reply) => {
    const keys = requiredParameter(request, 'keys', true)
      .split(',')
      .filter((key) => key.length > 0);
    const { items } = service.batchQuery(keys);
    return json(reply, { success: true, data: items.map(keyInfoJson) });
  });
  app.delete('/key', async (request, reply) => {
    const result = service.remove(requiredParameter(request, 'key'));
    if (result === MMC.UNMATCHED_KEY) throw new MmcHttpError(MESSAGES.keyNotFound);
    if (result !== MMC.OK) throw new MmcHttpError(MESSAGES.internal);
    return json(reply, { success: true, message: 'key deleted' });
  });
  app.delete('/all_keys', async (_request, reply) => {
    if (service.removeAll() !== MMC.OK) throw new MmcHttpError(MESSAGES.internal);
    return json(reply, { success: true, message: 'all keys deleted' });
  });
  app.get('/get_all_keys', async (_request, reply) => {
    const keys = service.getAllKeys();
    return text(reply, keys.length === 0 ? '' : `${keys.join('\n')}\n`);
  });

  app.get('/get_all_segments', async (_request, reply) => {
    const names = service.manager.listSegments().map((segment) => `${segment.name}\n`);
    return text(reply, names.join(''));
  });
  app.get('/query_segment', async (request, reply) => {
    const name = requiredParameter(request, 'segment');
    const segment = service.manager.getSegment(name);
    if (!segment) throw new MmcHttpError(MESSAGES.segmentNotFound);
    return json(reply, { segment: name, ...segmentUsage(segment.medium, segment.allocator) });
  });
  app.get('/api/v1/segments/status', async (request, reply) => {
    const name = requiredParameter(request, 'segment');
    if (!service.manager.getSegment(name)) throw new MmcHttpError(MESSAGES.segmentNotFound);
    return json(reply, { success: true, segment: name, status: 1, status_name: 'OK' });
  });
  app.get('/api/v1/capacity/usage', async (_request, reply) => {
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
  app.get('/api/v1/capacity/segment_remaining', async (_request, reply) => {
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
  const notSupported = async (_request: FastifyRequest, reply: FastifyReply) =>
    json(reply, errorBody(MESSAGES.notSupported));
  app.post('/api/v1/drain_jobs', notSupported);
  app.get('/api/v1/drain_jobs/query', notSupported);
  app.post('/api/v1/drain_jobs/cancel', notSupported);
}

/** The first value of a query parameter; an absent or empty one is the spec's "Missing" error. */
function requiredParameter(request: FastifyRequest, name: string, allowEmpty = false): string {
  const raw = (request.query as Record<string, string | string[] | undefined>)[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || (!allowEmpty && value.length === 0))
    throw new MmcHttpError(MESSAGES.missing(name));
  return value;
}

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
