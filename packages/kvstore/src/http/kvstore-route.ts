import type { ZodTypeProvider } from '@kvforge/common-http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';
import { type CodeOverrides, httpStatusOf, RESULT_CODES, resultFor } from './envelope';

const OK = { code: RESULT_CODES.OK, msg: 'OK' } as const;

/** `?version=3&changed=true` → numbers and booleans, as the original's GET callers send them. */
function coerceQueryValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

function coercedQuery(request: FastifyRequest): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [name, value] of Object.entries((request.query as Record<string, unknown>) ?? {})) {
    input[name] = coerceQueryValue(value);
  }
  return input;
}

/**
 * The original reads a JSON body whatever the method; a request with no body may pass the same
 * fields as query parameters. Runs before validation, so one zod schema covers both sources.
 */
async function bodyOrQuery(request: FastifyRequest): Promise<void> {
  const body = request.body;
  if (typeof body === 'string') throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_JSON, 'body is not JSON');
  if (body === undefined || body === null) request.body = coercedQuery(request);
}

/** fastify takes no body schema on GET: there the same schema validates the (coerced) query. */
async function queryAsInput(request: FastifyRequest): Promise<void> {
  request.query = coercedQuery(request);
}

export type KvstoreRoute = <Schema extends z.ZodType>(
  path: string,
  schema: Schema,
  handler: (input: z.infer<Schema>) => Promise<object> | object,
  overrides?: CodeOverrides,
) => void;

/**
 * Registers `<prefix><path>` for POST (zod body schema) and GET (the same schema on the query) (validated by the common-http
 * type provider; failures become the envelope's 1003) and the spec's `{code:1001,msg:"OK",…}` reply.
 * Domain errors map to their codes, with per-route overrides where the original used another code.
 */
export function kvstoreRoutes(app: FastifyInstance, prefix: string): KvstoreRoute {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  return (path, schema, handler, overrides = {}) => {
    const handle = async (input: unknown, reply: FastifyReply) => {
      try {
        const result = await handler(input as z.infer<typeof schema>);
        return reply.send({ ...OK, ...result });
      } catch (error) {
        const body = resultFor(error, overrides);
        if (!body) throw error;
        return reply.status(httpStatusOf(body.code)).send(body);
      }
    };
    typed.route({
      method: 'POST',
      url: `${prefix}${path}`,
      schema: { body: schema },
      preValidation: bodyOrQuery,
      handler: (request, reply) => handle(request.body, reply),
    });
    typed.route({
      method: 'GET',
      url: `${prefix}${path}`,
      schema: { querystring: schema },
      preValidation: queryAsInput,
      handler: (request, reply) => handle(request.query, reply),
    });
  };
}
