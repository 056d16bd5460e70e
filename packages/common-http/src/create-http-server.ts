import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { type ApiDocsOptions, installApiDocs } from './api-docs';
import { COMMON_ERROR_CODES } from './app-error';
import { DEFAULT_ERROR_ENVELOPE, type ErrorEnvelope, normalizeError } from './error-envelope';
import { installRawBodyParser } from './raw-body-parser';
import { serializerCompiler, validatorCompiler } from './type-provider';

export interface HttpServerOptions {
  /** The process's pino logger; fastify uses it as `loggerInstance`. */
  logger?: FastifyBaseLogger;
  /** The product's error format; installed once at the root. @default fastify's four fields */
  errorEnvelope?: ErrorEnvelope;
  /** @default 1 MiB */
  bodyLimit?: number;
  /** Log every request at info ("incoming request"/"request completed"). Off by default: hot paths. @default false */
  logRequests?: boolean;
  /** @default 30000 */
  requestTimeoutMs?: number;
  /** @default 72000 (longer than common load-balancer idle timeouts) */
  keepAliveTimeoutMs?: number;
  /** Header carrying the request id; generated when absent. @default 'x-request-id' */
  requestIdHeader?: string;
  /** OpenAPI document at /docs/json and its UI at /docs; `false` serves neither. @default {} */
  apiDocs?: ApiDocsOptions | false;
}

export const DEFAULT_HTTP_SERVER_OPTIONS = {
  bodyLimit: 1024 * 1024,
  logRequests: false,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  requestIdHeader: 'x-request-id',
} as const;

/** Renders any error through the product's envelope and sends it. */
function sendError(envelope: ErrorEnvelope, error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const normalized = normalizeError(error);
  const rendered = envelope.render(normalized, request);
  if (rendered.statusCode >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.debug({ err: error, code: normalized.code }, 'request rejected');
  if (rendered.contentType) reply.header('content-type', rendered.contentType);
  return reply.status(rendered.statusCode).send(rendered.body);
}

/** A fastify 5 instance with kvforge's conventions: zod schemas, catch-all body parser, one error envelope. */
export function createHttpServer(options: HttpServerOptions = {}): FastifyInstance {
  const resolved = { ...DEFAULT_HTTP_SERVER_OPTIONS, ...options };
  const envelope = options.errorEnvelope ?? DEFAULT_ERROR_ENVELOPE;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : {}),
    bodyLimit: resolved.bodyLimit,
    // fastify 5.12 deprecates the top-level disableRequestLogging option in favour of a LogController.
    logController: new LogController({ disableRequestLogging: !resolved.logRequests }),
    requestTimeout: resolved.requestTimeoutMs,
    keepAliveTimeout: resolved.keepAliveTimeoutMs,
    requestIdHeader: resolved.requestIdHeader,
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: true },
    // Errors fastify raises before routing (a URL with bad percent-encoding) get the envelope too.
    frameworkErrors: (error, request, reply) => void sendError(envelope, error, request, reply),
  }) as unknown as FastifyInstance;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installRawBodyParser(app);
  if (options.apiDocs !== false) installApiDocs(app, options.apiDocs ?? {});

  app.setErrorHandler((error, request, reply) => sendError(envelope, error, request, reply));

  app.setNotFoundHandler((request, reply) => {
    const rendered = envelope.render(
      {
        statusCode: 404,
        code: COMMON_ERROR_CODES.NOT_FOUND,
        message: `Route ${request.method}:${request.url} not found`,
        cause: undefined,
      },
      request,
    );
    if (rendered.contentType) reply.header('content-type', rendered.contentType);
    return reply.status(rendered.statusCode).send(rendered.body);
  });
  return app;
}
