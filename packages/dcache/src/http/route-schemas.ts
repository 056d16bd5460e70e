import { NO_BODY, NO_QUERY } from '@kvforge/common-http';
import { z } from 'zod';
import {
  faultDenyBody,
  internalValueBody,
  internalValueFields,
  joinBody,
  leaveBody,
  migrateFetchBody,
  probeBody,
  replicateBody,
} from '../core/internal-api';
import { partitionTableSchema } from '../core/table-validation';

/** The key of `/api/v1/cache/*` and `/internal/cache/*` (fastify's wildcard parameter), bounded in bytes. */
export function keyParamsSchema(maxKeyBytes: number) {
  return z.object({ '*': boundedKey(maxKeyBytes) });
}

/** A key: not empty, at most `maxKeyBytes` UTF-8 bytes (an explicit limit, checked before any work). */
const boundedKey = (maxKeyBytes: number) =>
  z
    .string()
    .min(1, 'key must not be empty')
    .refine((key) => Buffer.byteLength(key) <= maxKeyBytes, `key is longer than ${maxKeyBytes} bytes`);

/** Routes that take no query parameters reject any, rather than ignore a misspelt one. */
export const noQuery = NO_QUERY;

const ttl = z.number().nonnegative();
const hasValue = (body: { value?: unknown }): boolean => body.value !== undefined;

/**
 * What a client may store: `value` (any JSON) and an optional `ttl_seconds`, nothing else. Strict:
 * an unknown field (a misspelt TTL, the internal `ttl_ms`, a `value_json` someone hopes is trusted)
 * is a 400, never silently used or ignored.
 */
const clientValueFields = { value: z.unknown(), ttl_seconds: ttl.optional() };
export const clientValueBody = z
  .strictObject(clientValueFields)
  .refine(hasValue, { message: 'body must contain "value"', path: ['value'] });

const itemNeedsValue = { message: 'each item must contain "value"', path: ['value'] };

/** Serialised value and TTL in ms from a client or internal value body. */
export function storedValue(body: {
  value?: unknown;
  ttl_seconds?: number | undefined;
  ttl_ms?: number | undefined;
}): {
  valueJson: string;
  ttlMs: number;
} {
  const ttlMs = body.ttl_seconds !== undefined ? body.ttl_seconds * 1000 : (body.ttl_ms ?? 0);
  return { valueJson: JSON.stringify(body.value), ttlMs };
}

/** Every body schema, sized by the plugin's limits. */
export function bodySchemas(limits: { maxBatchKeys: number; partitionCount: number; maxKeyBytes: number }) {
  const key = boundedKey(limits.maxKeyBytes);
  const keys = z.array(key).min(1).max(limits.maxBatchKeys);
  return {
    keyParams: keyParamsSchema(limits.maxKeyBytes),
    value: clientValueBody,
    internalValue: internalValueBody,
    keys: z.strictObject({ keys }),
    batchSet: z.strictObject({
      items: z
        .array(z.strictObject({ key, ...clientValueFields }).refine(hasValue, itemNeedsValue))
        .min(1)
        .max(limits.maxBatchKeys),
    }),
    /** Between nodes a group may be empty. */
    internalBatchSet: z.strictObject({
      items: z
        .array(z.strictObject({ key, ...internalValueFields }).refine(hasValue, itemNeedsValue))
        .max(limits.maxBatchKeys),
    }),
    replicate: replicateBody,
    migrateFetch: migrateFetchBody(limits.partitionCount),
    join: joinBody,
    leave: leaveBody,
    probe: probeBody,
    faultDeny: faultDenyBody,
    table: partitionTableSchema,
    /** POST routes with no input accept no body or an empty object. */
    none: NO_BODY,
  };
}
export type BodySchemas = ReturnType<typeof bodySchemas>;
