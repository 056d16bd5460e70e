import { hostPort } from '@kvforge/runtime';
import { z } from 'zod';
import { DCACHE_ERROR_CODES, DcacheError } from './errors';
import type { PartitionTable } from './partition-table';
import { partitionTableSchema } from './table-validation';
import { wireEntrySchema } from './wire-entry';

/**
 * The node-to-node protocol in one place: paths, headers, request and answer schemas. The node
 * (callers) and the plugin's internal routes (answerers) both use these, so a field renamed on one
 * side fails to compile or to parse on the other instead of drifting silently.
 */

export const RING_VERSION_HEADER = 'x-dcache-ring-version';
export const HOPS_HEADER = 'x-dcache-hops';
export const TOKEN_HEADER = 'x-dcache-token';
/** On an internal GET: read this node's store only, no migration fallback. */
export const LOCAL_ONLY_HEADER = 'x-dcache-local-only';
/** On a write between nodes: who sends it, so the receiver can check it is that partition's primary. */
export const SENDER_HEADER = 'x-dcache-sender';
/** Where the sender listens: a receiver with an older table fetches the sender's from there. */
export const SENDER_ADDRESS_HEADER = 'x-dcache-sender-address';

export const INTERNAL_PATHS = {
  cache: (key: string) => `/internal/cache/${encodeURIComponent(key)}`,
  batchGet: '/internal/batch/get',
  /** Forwarded GETs coalesced by owner; the answer is a read frame (`core/read-frame.ts`). */
  batchReads: '/internal/batch/reads',
  batchSet: '/internal/batch/set',
  batchDelete: '/internal/batch/delete',
  replicate: '/internal/replicate',
  migrateFetch: '/internal/migrate/fetch',
  merge: '/internal/migrate/merge',
  digests: '/internal/repair/digests',
  join: '/internal/cluster/join',
  leave: '/internal/cluster/leave',
  health: '/internal/cluster/health',
  table: '/internal/cluster/table',
  probe: '/internal/cluster/probe',
  /** Only with the faultInjection test hook. */
  faultDeny: '/internal/fault/deny',
  rebalance: '/admin/cluster/rebalance',
} as const;

const ttl = z.number().nonnegative();
const hasValue = (body: { value?: unknown }): boolean => body.value !== undefined;
const nodeId = z.string().min(1);

/** A forwarded write: the parsed `value` (re-serialised by the owner) and its TTL in ms. */
export const internalValueFields = { value: z.unknown(), ttl_ms: ttl.optional() };
export const internalValueBody = z
  .strictObject(internalValueFields)
  .refine(hasValue, { message: 'body must contain "value"', path: ['value'] });

export const replicateBody = z.object({ entries: z.array(wireEntrySchema) });
export const migrateFetchBody = (partitionCount: number) =>
  z.object({
    partitions: z.array(
      z
        .number()
        .int()
        .nonnegative()
        .max(partitionCount - 1),
    ),
  });
export const joinBody = z.object({
  node_id: nodeId,
  address: hostPort,
  ring_version: z.number().int().nonnegative().optional(),
});
export const leaveBody = z.object({ node_id: nodeId });
export const probeBody = z.object({ node_id: nodeId, address: hostPort });
/** The fault-injection deny-list: the peers this node refuses to call (empty: heal). */
export const faultDenyBody = z.strictObject({ addresses: z.array(hostPort) });

/** Answers, parsed by the caller (`decodeAnswer`). */
export const ANSWERS = {
  table: z.object({ table: partitionTableSchema }),
  health: z.object({
    node_id: z.string(),
    ring_version: z.number(),
    ring_coordinator: z.string().optional(),
    ring_members: z.string().optional(),
    migrating: z.boolean(),
  }),
  localEntry: z.object({ entry: wireEntrySchema.nullable() }),
  read: z.object({ found: z.boolean(), value: z.unknown(), node_id: z.string() }),
  write: z.object({ node_id: z.string(), existed: z.boolean().optional() }),
  batchGet: z.object({
    results: z.array(z.object({ found: z.boolean(), value: z.unknown(), node_id: z.string() })),
  }),
  entries: z.object({ entries: z.array(wireEntrySchema) }),
  probe: z.object({ reachable: z.boolean() }),
  digests: z.object({ digests: z.array(z.number()) }),
  rebalance: z.object({ ring_version: z.number(), moved_partitions: z.number() }),
  error: z.object({ error: z.string(), message: z.string() }),
} as const;

/** The typed body of a peer's answer, or DECODE_FAILED naming the peer and what was wrong. */
export function decodeAnswer<Schema extends z.ZodType>(
  schema: Schema,
  answer: { statusCode: number; body: unknown },
  from: string,
): z.infer<Schema> {
  const parsed = schema.safeParse(answer.body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new DcacheError(
    DCACHE_ERROR_CODES.DECODE_FAILED,
    `undecodable answer from ${from} (${answer.statusCode}): ${issue?.path.join('.') || '(root)'} ${issue?.message ?? ''}`,
  );
}

/** A table from a join/leave answer. */
export const tableOf = (answer: { statusCode: number; body: unknown }, from: string): PartitionTable =>
  decodeAnswer(ANSWERS.table, answer, from).table as PartitionTable;
