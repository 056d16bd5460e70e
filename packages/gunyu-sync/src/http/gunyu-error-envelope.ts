import type { ErrorEnvelope } from '@kvforge/common-http';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';

/** Refusals of the caller's request (the reason goes to the log: GunYu's error bodies are empty). */
const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set([
  GUNYU_ERROR_CODES.unknownInput,
  GUNYU_ERROR_CODES.config,
  GUNYU_ERROR_CODES.fullSync,
]);

/** GunYu answers errors with a bare HTTP status and an empty body (gin `c.Status`). */
export const GUNYU_ERROR_ENVELOPE: ErrorEnvelope = {
  render(error) {
    const cause = error.cause;
    if (cause instanceof GunyuError) {
      const status = CLIENT_ERROR_CODES.has(cause.code) ? 400 : 500;
      return { statusCode: status, body: '' };
    }
    return { statusCode: error.statusCode >= 400 ? error.statusCode : 500, body: '' };
  },
};
