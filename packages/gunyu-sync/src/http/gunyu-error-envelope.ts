import type { ErrorEnvelope } from '@kvforge/common-http';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';

/** GunYu answers errors with a bare HTTP status and an empty body (gin `c.Status`). */
export const GUNYU_ERROR_ENVELOPE: ErrorEnvelope = {
  render(error) {
    const cause = error.cause;
    if (cause instanceof GunyuError) {
      const status =
        cause.code === GUNYU_ERROR_CODES.unknownInput || cause.code === GUNYU_ERROR_CODES.config ? 400 : 500;
      return { statusCode: status, body: '' };
    }
    return { statusCode: error.statusCode >= 400 ? error.statusCode : 500, body: '' };
  },
};
