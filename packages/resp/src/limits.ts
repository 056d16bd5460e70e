/** Bounds applied while scanning, like Redis's own (`proto-max-bulk-len`, `PROTO_INLINE_MAX_SIZE`, …). */
export interface RespLimits {
  /** Most elements in one array/map/set header (Redis: 1024*1024 for requests). */
  maxMultibulkLength: number;
  /** Largest bulk string in bytes (Redis `proto-max-bulk-len`, 512 MB). */
  maxBulkLength: number;
  /** Longest inline request or header line without a line end (Redis `PROTO_INLINE_MAX_SIZE`, 64 KB). */
  maxInlineLength: number;
  /** Deepest nesting of aggregates in a reply. */
  maxNestingDepth: number;
}

export const DEFAULT_RESP_LIMITS: Readonly<RespLimits> = Object.freeze({
  maxMultibulkLength: 1024 * 1024,
  maxBulkLength: 512 * 1024 * 1024,
  maxInlineLength: 64 * 1024,
  maxNestingDepth: 128,
});

export function resolveLimits(limits: Partial<RespLimits> | undefined): RespLimits {
  return { ...DEFAULT_RESP_LIMITS, ...limits };
}
