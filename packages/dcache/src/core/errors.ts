import { DomainError } from '@kvforge/runtime';
/** Stable codes of dcache's domain errors; the HTTP plugin maps them to the spec's envelope. */
export const DCACHE_ERROR_CODES = {
  INVALID_REQUEST: 'DCACHE_ERR_INVALID_REQUEST',
  VALUE_TOO_LARGE: 'DCACHE_ERR_VALUE_TOO_LARGE',
  CACHE_ERROR: 'DCACHE_ERR_CACHE',
  NODE_NOT_FOUND: 'DCACHE_ERR_NODE_NOT_FOUND',
  FORWARD_FAILED: 'DCACHE_ERR_FORWARD_FAILED',
  DECODE_FAILED: 'DCACHE_ERR_DECODE_FAILED',
  ADD_NODE: 'DCACHE_ERR_ADD_NODE',
  REMOVE_NODE: 'DCACHE_ERR_REMOVE_NODE',
  QUORUM_FAILED: 'DCACHE_ERR_QUORUM_FAILED',
  UNAUTHORIZED: 'DCACHE_ERR_UNAUTHORIZED',
  STALE_RING: 'DCACHE_ERR_STALE_RING',
} as const;

export type DcacheErrorCode = (typeof DCACHE_ERROR_CODES)[keyof typeof DCACHE_ERROR_CODES];

export class DcacheError extends DomainError<DcacheErrorCode> {}
