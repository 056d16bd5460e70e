import type { ErrorEnvelope } from '@kvforge/common-http';
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
  missing: (name: string) => `Missing '${name}' parameter`,
} as const;

export function errorBody(message: string): { success: false; error_message: string; timestamp: number } {
  return { success: false, error_message: message, timestamp: Math.floor(Date.now() / 1000) };
}

/**
 * The spec's envelope: every business or handler error is HTTP 200 with the JSON error body; an unknown
 * route keeps its 404 (the original answers a plain 404 there too).
 */
export const MEMCACHE_ERROR_ENVELOPE: ErrorEnvelope = {
  render(error) {
    if (error.statusCode === 404) return { statusCode: 404, body: errorBody('Not found') };
    const message = error.cause instanceof MmcHttpError ? error.cause.message : MESSAGES.internal;
    return { statusCode: 200, body: errorBody(message), contentType: 'application/json; charset=utf-8' };
  },
};
