import { z } from 'zod';
import { CLUSTER_TYPES } from '../core/bucket-table';

// Request bodies of /kvstore/cs/*. Addresses, actions and states stay plain strings here: the
// domain answers them with its own codes (1005 invalid address, 1007 invalid action), as the
// original did; a schema failure is always 1003.
const namespace = z.string();
const address = z.string();

/** Routes without input; unknown fields are ignored as the original ignores them (shared by both plugins). */
export const EMPTY_INPUT = z.object({});
export const NAMESPACE_INPUT = z.object({ namespace });

export const INIT_TABLE_INPUT = z.object({
  namespace,
  bucket_count: z.number().int(),
  // Elements are checked by the domain so a bad one answers 1005, not 1003.
  address_list: z.array(z.unknown()),
  cluster_type: z.enum(CLUSTER_TYPES).optional(),
});

export const REPLACE_SERVER_INPUT = z.object({ namespace, old_addr: address, new_addr: address });

export const SCALE_INPUT = z.object({ namespace, action: z.string(), addr: address });

// The runtime settings of a ConfigServer; anything else is "no such config parameter" (1003).
// `is_master: true` promotes a file-store slave (an addition; demotion is a restart as slave).
export const SET_CONFIG_INPUT = z
  .strictObject({ support_ha: z.boolean().optional(), is_master: z.literal(true).optional() })
  .refine((input) => input.support_ha !== undefined || input.is_master !== undefined, {
    message: 'support_ha or is_master is required',
  });

export const REPLICATION_SNAPSHOT_INPUT = z.object({
  run_id: z.string().default(''),
  serial: z.number().int().default(-1),
  wait_ms: z.number().int().default(10_000),
});

export const GET_CONFIG_INPUT = z.object({ namespace: namespace.optional() });

export const WATCH_TABLE_INPUT = z.object({
  namespace,
  version: z.number().int().default(0),
  /** The namespace epoch the proxy holds; without it the old rule (any other version) applies. */
  epoch: z.number().int().nonnegative().optional(),
  wait_ms: z.number().int().default(0),
  proxy: z.string().optional(),
});

export const REPORT_REDIS_STATE_INPUT = z.object({
  namespace,
  proxy: z.string(),
  addr: address,
  state: z.string(),
  slave_addr: z.string().default(''),
});

export const MIGRATE_BUCKET_INPUT = z
  .object({
    namespace,
    addr: address,
    bucket_id: z.number().int().optional(),
    bucket_ids: z.array(z.number().int()).min(1).optional(),
    /** keys/s limit of this job (0: unlimited); default: the ConfigServer's. */
    max_migrate_keys_per_second: z.number().min(0).optional(),
  })
  .refine((input) => input.bucket_id !== undefined || input.bucket_ids !== undefined, {
    message: 'bucket_id (integer) or bucket_ids (array) required',
    path: ['bucket_ids'],
  });
