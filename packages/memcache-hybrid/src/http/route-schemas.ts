import { z } from 'zod';
import { MESSAGES } from './error-envelope';

// Query strings as fastify parses them: a repeated parameter arrives as an array, and the first value
// wins (README, decision 4). Every message here is the error_message the client receives.

function firstValue(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

/** A required parameter; absent or empty is the spec's "Missing 'name' parameter". */
function requiredParameter(name: string) {
  const missing = MESSAGES.missing(name);
  return z.preprocess(firstValue, z.string({ error: missing }).min(1, { error: missing }));
}

/** A required parameter that may be empty (`batch_query_keys?keys=` is an empty list, as in the original). */
function presentParameter(name: string) {
  return z.preprocess(firstValue, z.string({ error: MESSAGES.missing(name) }));
}

/**
 * A query string with exactly the spec's parameters: one it does not define is refused ("Unknown
 * parameter 'x'"), so a typo such as `?kye=` is not silently read as a missing key.
 */
function parameters<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? MESSAGES.unknownParameter(String(issue.keys[0])) : undefined,
  });
}

/**
 * The spec lists no request body for this route: a non-empty one is refused instead of ignored, so a
 * client that believes it is sending something learns it is not. (fastify never reads a GET body.)
 */
const NO_BODY = z.custom<undefined>(
  (value) => value === undefined || value === null || (Buffer.isBuffer(value) && value.length === 0),
  { error: MESSAGES.unexpectedBody },
);

const NO_PARAMETERS = parameters({});
const KEY_QUERY = parameters({ key: requiredParameter('key') });
const KEYS_QUERY = parameters({
  keys: presentParameter('keys').transform((keys) => keys.split(',').filter((key) => key.length > 0)),
});
const SEGMENT_QUERY = parameters({ segment: requiredParameter('segment') });
/** `/metadata` values are raw bytes, whatever the content type (the plugin's buffer parser). */
const METADATA_VALUE = z.custom<Buffer | undefined>(
  (value) => value === undefined || Buffer.isBuffer(value),
  { error: MESSAGES.unexpectedBody },
);
/** Drain jobs answer Not supported whatever they are sent (README, decision 11): nothing to refuse. */
const DRAIN_JOB_QUERY = z.object({ job_id: z.preprocess(firstValue, z.string()).optional() }).loose();

/** The route schemas by input shape (fastify refuses a body schema on GET: it never reads one). */
export const ROUTE_SCHEMAS = {
  noInput: { querystring: NO_PARAMETERS },
  noInputDelete: { querystring: NO_PARAMETERS, body: NO_BODY },
  key: { querystring: KEY_QUERY },
  keyDelete: { querystring: KEY_QUERY, body: NO_BODY },
  metadataPut: { querystring: KEY_QUERY, body: METADATA_VALUE },
  keys: { querystring: KEYS_QUERY },
  segment: { querystring: SEGMENT_QUERY },
  drainJobQuery: { querystring: DRAIN_JOB_QUERY },
  drainJobPost: { querystring: DRAIN_JOB_QUERY, body: z.unknown() },
} as const;
