import type { Duplex } from 'node:stream';
import { COMMON_ERROR_CODES, createHttpServer } from '@kvforge/common-http';
import { createMetricsRegistry } from '@kvforge/metrics';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { DcacheNode } from '../node/dcache-node';
import { dcachePlugin } from './dcache-plugin';
import { DCACHE_ERROR_ENVELOPE, renderDcacheError } from './error-envelope';

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
    apiDocs: {
      title: 'dcache node API',
      description:
        'The public cache API (/api/v1), admin, node-to-node internal routes and /metrics of one node.',
    },
    bodyLimit: options.bodyLimit ?? options.node.options.maxValueBytes * 4 + 1024 * 1024,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const registry = options.registry ?? createMetricsRegistry({ service: 'dcache' });
  await app.register(dcachePlugin, { node: options.node, registry });
  answerClientErrorsWithEnvelope(app);
  return app;
}

/**
 * Requests Node's HTTP parser rejects before fastify sees them (a request head over Node's 16 KiB
 * limit — an oversize URL —, a malformed request line) would get fastify's own
 * `{"error":"Bad Request",…}`; they get the spec's envelope instead, then the connection closes.
 */
function answerClientErrorsWithEnvelope(app: FastifyInstance): void {
  app.server.removeAllListeners('clientError');
  app.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const rendered = renderDcacheError({
      statusCode: tooLarge ? 431 : 400,
      code: COMMON_ERROR_CODES.VALIDATION,
      message: tooLarge ? 'request line and headers exceed 16 KiB (URL too long)' : 'malformed HTTP request',
    });
    const body = JSON.stringify(rendered.body);
    socket.end(
      `HTTP/1.1 ${rendered.statusCode} Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
