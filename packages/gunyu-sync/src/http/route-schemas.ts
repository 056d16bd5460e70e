import { z } from 'zod';

/*
 * Query and body schemas of the ops API. Unknown query keys are a 400 (GunYu's gin ignored them: a
 * typo such as `input=` then silently did nothing or everything). No route takes a body: a POST or
 * DELETE may send none, `null` or `{}` (curl -XPOST sends none); anything else is a 400. Fastify
 * never reads a body on GET.
 */

/** `inputs=all` or a comma list of source host:port (resolved against the syncers by SyncService.select). */
const inputs = z.string().trim().min(1, 'inputs is required (all or host:port,host:port)');

export { NO_BODY, NO_QUERY } from '@kvforge/common-http';

export const INPUTS_QUERY = z.strictObject({ inputs });

/** The spec's pause/resume examples also pass `flushdb` (it has no effect there). */
export const PAUSE_RESUME_QUERY = z.strictObject({ inputs, flushdb: z.enum(['yes', 'no']).optional() });

export const FULL_SYNC_QUERY = z.strictObject({
  inputs,
  flushdb: z.enum(['yes', 'no']).optional(),
  /** kvforge: the flush run before a full sync with flushdb=yes (empty or absent: FLUSHALL). */
  flushCommand: z
    .string()
    .transform((command) => command.toUpperCase())
    .pipe(z.enum(['', 'FLUSHALL', 'FLUSHDB']))
    .optional(),
});

export const CONFIG_QUERY = z.strictObject({ format: z.enum(['json', 'yaml']).optional() });
