import type { FastifyPluginAsyncZod } from '@kvforge/common-http';
import { metricsRoute } from '@kvforge/metrics';
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { maskConfig } from '../config/config-schema';
import type { SyncService } from '../sync-service';
import {
  CONFIG_QUERY,
  FULL_SYNC_QUERY,
  INPUTS_QUERY,
  NO_BODY,
  NO_QUERY,
  PAUSE_RESUME_QUERY,
} from './route-schemas';

export interface GunyuPluginOptions {
  service: SyncService;
  registry: Registry;
  /** GunYu's server.metricRoutePath. */
  metricRoutePath: string;
  /** Called by `DELETE /`: the app starts its graceful shutdown. */
  onShutdownRequested: () => void;
}

/**
 * The ops API of the spec plus what GunYu's code has beyond its doc (POST /syncer/stop,
 * GET /debug/health, /storage/gc as GET and POST). Success bodies are empty except status/config.
 * Every query and body is checked by its zod schema (route-schemas.ts); a bad one answers GunYu's
 * bare 400 through the envelope.
 */
export const gunyuPlugin: FastifyPluginAsyncZod<GunyuPluginOptions> = async (app, options) => {
  const { service } = options;
  await app.register(metricsRoute(options.registry, { path: options.metricRoutePath }));
  const plainGet = { schema: { querystring: NO_QUERY } };
  const plain = { schema: { querystring: NO_QUERY, body: NO_BODY } };

  app.get('/debug/health', plainGet, async (_request, reply) => reply.status(200).send(''));

  app.delete('/', plain, async (_request, reply) => {
    setImmediate(options.onShutdownRequested);
    return reply.status(200).send('');
  });

  const gc = async (_request: unknown, reply: FastifyReply) => {
    await service.collectGarbage();
    return reply.status(200).send('');
  };
  app.get('/storage/gc', plainGet, gc);
  app.post('/storage/gc', plain, gc);

  app.get('/syncer/status', plainGet, async () => service.status());

  app.get('/syncer/config', { schema: { querystring: CONFIG_QUERY } }, async (request, reply) => {
    const config = maskConfig(service.config);
    if (request.query.format === 'json') return reply.type('application/json').send(JSON.stringify(config));
    return reply.type('application/yaml').send(stringify(config));
  });

  app.post('/syncer/restart', plain, async (_request, reply) => {
    await Promise.all(service.syncers.map((syncer) => syncer.restart()));
    return reply.status(200).send('');
  });

  app.post('/syncer/stop', plain, async (_request, reply) => {
    await service.stop();
    return reply.status(200).send('');
  });

  const pauseResume = { schema: { querystring: PAUSE_RESUME_QUERY, body: NO_BODY } };
  app.post('/syncer/pause', pauseResume, async (request, reply) => {
    const selected = service.select(request.query.inputs);
    await Promise.all(selected.map((syncer) => syncer.pause()));
    return reply.status(200).send('');
  });

  app.post('/syncer/resume', pauseResume, async (request, reply) => {
    for (const syncer of service.select(request.query.inputs)) syncer.resume();
    return reply.status(200).send('');
  });

  // Acts only where this process leads: the input drains, releases its lease and lets a peer take it.
  app.post(
    '/syncer/handover',
    { schema: { querystring: INPUTS_QUERY, body: NO_BODY } },
    async (request, reply) => {
      const selected = service.select(request.query.inputs);
      await Promise.all(selected.map((syncer) => syncer.handover()));
      return reply.status(200).send('');
    },
  );

  app.post(
    '/syncer/fullsync',
    { schema: { querystring: FULL_SYNC_QUERY, body: NO_BODY } },
    async (request, reply) => {
      const selected = service.select(request.query.inputs);
      const flush = request.query.flushdb === 'yes' ? request.query.flushCommand || 'FLUSHALL' : undefined;
      // Every selected input finishes its attempt before the answer; the first failure is reported.
      const results = await Promise.allSettled(selected.map((syncer) => syncer.fullSync(flush)));
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      return reply.status(200).send('');
    },
  );
};
