import { NO_BODY, NO_QUERY } from '@kvforge/common-http';
import { hostPort } from '@kvforge/runtime';
import { z } from 'zod';
import { partitionTableSchema } from '../core/table-validation';

/** The key of `/api/v1/cache/*` and `/internal/cache/*` (fastify's wildcard parameter). */
export const keyParams = z.object({ '*': z.string().min(1, 'key must not be empty') });

/** Routes that take no query parameters reject any, rather than ignore a misspelt one. */
export const noQuery = NO_QUERY;

const ttl = z.number().nonnegative();

/**
 * A value to store: `value` (any JSON) or, between nodes, the already serialised `value_json`;
 * an optional TTL in seconds (`ttl_seconds`) or, between nodes, milliseconds (`ttl_ms`).
 */
const valueFields = {
  value: z.unknown().optional(),
  value_json: z.string().optional(),
  ttl_seconds: ttl.optional(),
  ttl_ms: ttl.optional(),
};
const hasValue = (body: { value?: unknown; value_json?: string }): boolean =>
  body.value_json !== undefined || body.value !== undefined;

export const valueBody = z
  .object(valueFields)
  .refine(hasValue, { message: 'body must contain "value"', path: ['value'] });
export type ValueBody = z.infer<typeof valueBody>;

const keyedValue = z
  .object({ key: z.string().min(1, 'key must not be empty'), ...valueFields })
  .refine(hasValue, { message: 'each item must contain "value"', path: ['value'] });

/** Serialised value and TTL in ms from a value body (ttl_seconds wins over ttl_ms, as before). */
export function storedValue(body: {
  value?: unknown;
  value_json?: string | undefined;
  ttl_seconds?: number | undefined;
  ttl_ms?: number | undefined;
}): { valueJson: string; ttlMs: number } {
  const valueJson = body.value_json ?? JSON.stringify(body.value);
  const ttlMs = body.ttl_seconds !== undefined ? body.ttl_seconds * 1000 : (body.ttl_ms ?? 0);
  return { valueJson, ttlMs };
}

const nodeId = z.string().min(1);
const wireEntry = z.tuple([
  z.string(),
  z.string(),
  z.number(),
  z.number(),
  z.union([z.literal(0), z.literal(1)]),
]);

/** Every body schema, sized by the plugin's limits. */
export function bodySchemas(limits: { maxBatchKeys: number; partitionCount: number }) {
  const keys = z.array(z.string().min(1, 'keys must be non-empty strings')).min(1).max(limits.maxBatchKeys);
  return {
    value: valueBody,
    keys: z.object({ keys }),
    batchSet: z.object({ items: z.array(keyedValue).min(1).max(limits.maxBatchKeys) }),
    /** Between nodes a group may be empty. */
    internalBatchSet: z.object({ items: z.array(keyedValue).max(limits.maxBatchKeys) }),
    replicate: z.object({ entries: z.array(wireEntry) }),
    migrateFetch: z.object({
      partitions: z.array(
        z
          .number()
          .int()
          .nonnegative()
          .max(limits.partitionCount - 1),
      ),
    }),
    join: z.object({
      node_id: nodeId,
      address: hostPort,
      ring_version: z.number().int().nonnegative().optional(),
    }),
    leave: z.object({ node_id: nodeId }),
    probe: z.object({ node_id: nodeId, address: hostPort }),
    table: partitionTableSchema,
    /** POST routes with no input accept no body or an empty object. */
    none: NO_BODY,
  };
}
export type BodySchemas = ReturnType<typeof bodySchemas>;
