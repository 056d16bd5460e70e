import { COMMON_ERROR_CODES, type ErrorEnvelope, type NormalizedHttpError } from '@kvforge/common-http';
import { DomainError } from '@kvforge/runtime';

/** A business error of the REST API: HTTP 200 with `success: false` and the reason. */
export class MmcHttpError extends DomainError<'MMC_ERR_HTTP'> {
  constructor(message: string) {
    super('MMC_ERR_HTTP', message);
  }
}

export const MESSAGES = {
  keyNotFound: 'Key not found',
  segmentNotFound: 'Segment not found',
  metadataKeyNotFound: 'Metadata key not found',
  internal: 'Internal server error',
  notSupported: 'Not supported',
  unexpectedBody: 'Unexpected request body',
  unknownParameter: (name: string) => `Unknown parameter '${name}'`,
  missing: (name: string) => `Missing '${name}' parameter`,
} as const;

export function errorBody(message: string): { success: false; error_message: string; timestamp: number } {
  return { success: false, error_message: message, timestamp: Math.floor(Date.now() / 1000) };
}

/** The reason a client reads: the business message, the route schema's own message, fastify's 4xx text. */
function reasonOf(error: NormalizedHttpError): string {
  if (error.cause instanceof MmcHttpError) return error.cause.message;
  if (error.code === COMMON_ERROR_CODES.VALIDATION) {
    const issues = (error.details as { issues?: { message?: unknown }[] } | undefined)?.issues;
    const first = issues?.[0]?.message;
    return typeof first === 'string' ? first : error.message;
  }
  if (error.statusCode >= 400 && error.statusCode < 500) return error.message;
  return MESSAGES.internal;
}

/**
 * The spec's envelope: every business, validation or handler error is HTTP 200 with the JSON error body;
 * an unknown route keeps its 404 (the original answers a plain 404 there too).
 */
export const MEMCACHE_ERROR_ENVELOPE: ErrorEnvelope = {
  render(error) {
    if (error.statusCode === 404) return { statusCode: 404, body: errorBody('Not found') };
    return {
      statusCode: 200,
      body: errorBody(reasonOf(error)),
      contentType: 'application/json; charset=utf-8',
    };
  },
};
