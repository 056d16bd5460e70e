import { metricsRoute } from '@kvforge/metrics';
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { maskConfig } from '../config/config-schema';
import type { SyncService } from '../sync-service';

export interface GunyuPluginOptions {
  service: SyncService;
  registry: Registry;
  /** GunYu's server.metricRoutePath. */
  metricRoutePath: string;
  /** Called by `DELETE /`: the app starts its graceful shutdown. */
  onShutdownRequested: () => void;
}

interface InputsQuery {
  inputs?: string;
  flushdb?: string;
  flushCommand?: string;
  format?: string;
}

/**
 * The ops API of the spec plus what GunYu's code has beyond its doc (POST /syncer/stop,
 * GET /debug/health, /storage/gc as GET and POST). Success bodies are empty except status/config.
 */
export const gunyuPlugin: FastifyPluginAsync<GunyuPluginOptions> = async (app, options) => {
  const { service } = options;
  await app.register(metricsRoute(options.registry, { path: options.metricRoutePath }));

  app.get('/debug/health', async (_request, reply) => reply.status(200).send(''));

  app.delete('/', async (_request, reply) => {
    setImmediate(options.onShutdownRequested);
    return reply.status(200).send('');
  });

  const gc = async (_request: unknown, reply: import('fastify').FastifyReply) => {
    await service.collectGarbage();
    return reply.status(200).send('');
  };
  app.get('/storage/gc', gc);
  app.post('/storage/gc', gc);

  app.get('/syncer/status', async () => service.status());

  app.get<{ Querystring: InputsQuery }>('/syncer/config', async (request, reply) => {
    const config = maskConfig(service.config);
    if (request.query.format === 'json') return reply.type('application/json').send(JSON.stringify(config));
    return reply.type('application/yaml').send(stringify(config));
  });

  app.post('/syncer/restart', async (_request, reply) => {
    await Promise.all(service.syncers.map((syncer) => syncer.restart()));
    return reply.status(200).send('');
  });

  app.post('/syncer/stop', async (_request, reply) => {
    await service.stop();
    return reply.status(200).send('');
  });

  app.post<{ Querystring: InputsQuery }>('/syncer/pause', async (request, reply) => {
    const selected = service.select(request.query.inputs);
    await Promise.all(selected.map((syncer) => syncer.pause()));
    return reply.status(200).send('');
  });

  app.post<{ Querystring: InputsQuery }>('/syncer/resume', async (request, reply) => {
    for (const syncer of service.select(request.query.inputs)) syncer.resume();
    return reply.status(200).send('');
  });

  // Without HA peers this process stays the leader: a handover is a restart of the selected inputs.
  app.post<{ Querystring: InputsQuery }>('/syncer/handover', async (request, reply) => {
    const selected = service.select(request.query.inputs);
    await Promise.all(selected.map((syncer) => syncer.restart()));
    return reply.status(200).send('');
  });

  app.post<{ Querystring: InputsQuery }>('/syncer/fullsync', async (request, reply) => {
    const selected = service.select(request.query.inputs);
    const flush = request.query.flushdb === 'yes' ? request.query.flushCommand || 'FLUSHALL' : undefined;
    await Promise.all(selected.map((syncer) => syncer.fullSync(flush)));
    return reply.status(200).send('');
  });
};
