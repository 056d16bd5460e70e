import { COMMON_ERROR_CODES, type ErrorEnvelope, type NormalizedHttpError } from '@kvforge/common-http';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';

const MAPPING: Record<string, { statusCode: number; error: string }> = {
  [COMMON_ERROR_CODES.VALIDATION]: { statusCode: 400, error: 'invalid_request' },
  [COMMON_ERROR_CODES.BAD_JSON]: { statusCode: 400, error: 'invalid_request' },
  [COMMON_ERROR_CODES.NOT_FOUND]: { statusCode: 404, error: 'not_found' },
  [DCACHE_ERROR_CODES.INVALID_REQUEST]: { statusCode: 400, error: 'invalid_request' },
  [DCACHE_ERROR_CODES.VALUE_TOO_LARGE]: { statusCode: 400, error: 'invalid_request' },
  [DCACHE_ERROR_CODES.UNAUTHORIZED]: { statusCode: 401, error: 'unauthorized' },
  [DCACHE_ERROR_CODES.STALE_RING]: { statusCode: 421, error: 'stale_ring_version' },
  [DCACHE_ERROR_CODES.CACHE_ERROR]: { statusCode: 500, error: 'cache_error' },
  [DCACHE_ERROR_CODES.QUORUM_FAILED]: { statusCode: 500, error: 'cache_error' },
  [DCACHE_ERROR_CODES.NODE_NOT_FOUND]: { statusCode: 500, error: 'node_not_found' },
  [DCACHE_ERROR_CODES.FORWARD_FAILED]: { statusCode: 500, error: 'forward_failed' },
  [DCACHE_ERROR_CODES.DECODE_FAILED]: { statusCode: 500, error: 'decode_failed' },
  [DCACHE_ERROR_CODES.ADD_NODE]: { statusCode: 500, error: 'add_node_error' },
  [DCACHE_ERROR_CODES.REMOVE_NODE]: { statusCode: 500, error: 'remove_node_error' },
};

/**
 * The spec's `{"error","message","timestamp"}`; any other client error (413, 415, …) is an
 * invalid_request 400. A 421 on an internal route adds the answering node's `table` (node to
 * node only), so the caller adopts it without another round trip.
 */
export function renderDcacheError(
  error: Pick<NormalizedHttpError, 'code' | 'statusCode' | 'message'> & { cause?: unknown },
  request?: { url: string },
): {
  statusCode: number;
  body: { error: string; message: string; timestamp: string; table?: unknown };
} {
  const mapped =
    MAPPING[error.code] ??
    (error.statusCode >= 400 && error.statusCode < 500
      ? { statusCode: 400, error: 'invalid_request' }
      : { statusCode: 500, error: 'cache_error' });
  const body: { error: string; message: string; timestamp: string; table?: unknown } = {
    error: mapped.error,
    message: error.message,
    timestamp: new Date().toISOString(),
  };
  const table =
    error.cause instanceof DcacheError ? (error.cause.details as { table?: unknown })?.table : undefined;
  if (
    error.code === DCACHE_ERROR_CODES.STALE_RING &&
    table !== undefined &&
    request?.url?.startsWith('/internal/') === true
  )
    body.table = table;
  return { statusCode: mapped.statusCode, body };
}

export const DCACHE_ERROR_ENVELOPE: ErrorEnvelope = { render: renderDcacheError };
