import { COMMON_ERROR_CODES, type ErrorEnvelope, type NormalizedHttpError } from '@kvforge/common-http';
import { KVSTORE_ERROR_CODES, KvstoreError, type KvstoreErrorCode } from '../core/errors';

/** The spec's result codes. */
export const RESULT_CODES = {
  OK: 1001,
  INVALID_JSON: 1002,
  INVALID_INPUT: 1003,
  NOT_MASTER: 1004,
  CLUSTER_TYPE_OR_ADDRESS: 1005,
  FAILED: 1006,
  INVALID_ACTION: 1007,
  SCALE_FAILED: 1008,
} as const;

export type CodeOverrides = Partial<Record<KvstoreErrorCode, number>>;

// The original's fixed message for each code; the detail follows after ": ".
const DEFAULT_CODES: Record<KvstoreErrorCode, [number, string]> = {
  [KVSTORE_ERROR_CODES.INVALID_JSON]: [1002, 'invalid json format'],
  [KVSTORE_ERROR_CODES.INVALID_INPUT]: [1003, 'invalid input format'],
  [KVSTORE_ERROR_CODES.NO_SUCH_CONFIG]: [1003, 'no such config parameter'],
  [KVSTORE_ERROR_CODES.NOT_MASTER]: [1004, 'not a master'],
  [KVSTORE_ERROR_CODES.NO_SUCH_NAMESPACE]: [1004, 'no such namespace'],
  [KVSTORE_ERROR_CODES.WRONG_CLUSTER_TYPE]: [1005, 'not match the cluster type'],
  [KVSTORE_ERROR_CODES.INVALID_ADDRESS]: [1005, 'invalid redis address'],
  [KVSTORE_ERROR_CODES.INIT_FAILED]: [1006, 'InitTable failed'],
  [KVSTORE_ERROR_CODES.INVALID_ACTION]: [1007, 'not a valid action'],
  [KVSTORE_ERROR_CODES.REPLACE_FAILED]: [1007, 'ReplaceServerAddress failed'],
  [KVSTORE_ERROR_CODES.SCALE_FAILED]: [1008, 'scale up/down failed'],
  [KVSTORE_ERROR_CODES.MIGRATION_FAILED]: [1008, 'migration failed'],
  [KVSTORE_ERROR_CODES.STORE_FAILED]: [1006, 'store failed'],
};

export interface ResultBody {
  code: number;
  msg: string;
}

/** Maps a domain error to `{code, msg}`; routes override codes where the original used another one. */
export function resultFor(error: unknown, overrides: CodeOverrides = {}): ResultBody | undefined {
  if (!(error instanceof KvstoreError)) return undefined;
  const [code, prefix] = DEFAULT_CODES[error.code];
  const message =
    error.message === prefix || error.message.startsWith(`${prefix}:`)
      ? error.message
      : `${prefix}: ${error.message}`;
  return { code: overrides[error.code] ?? code, msg: message };
}

/**
 * Bad input (1002 invalid JSON, 1003 invalid input) is HTTP 400; every other answer keeps the
 * original's HTTP 200 with its code in the body. The body is the spec's `{code, msg}` either way.
 */
export function httpStatusOf(code: number): number {
  return code === RESULT_CODES.INVALID_JSON || code === RESULT_CODES.INVALID_INPUT ? 400 : 200;
}

/** kvstore answers `{code, msg}`: HTTP 400 for bad input, 200 otherwise (as the original); unknown routes 404. */
export const KVSTORE_ERROR_ENVELOPE: ErrorEnvelope = {
  render(error: NormalizedHttpError) {
    const domain = resultFor(error.cause);
    if (domain) return { statusCode: httpStatusOf(domain.code), body: domain };
    if (error.code === COMMON_ERROR_CODES.BAD_JSON) {
      return {
        statusCode: 400,
        body: { code: RESULT_CODES.INVALID_JSON, msg: `invalid json format: ${error.message}` },
      };
    }
    if (error.code === COMMON_ERROR_CODES.NOT_FOUND) {
      return { statusCode: 404, body: { code: RESULT_CODES.INVALID_INPUT, msg: error.message } };
    }
    if (error.statusCode < 500) {
      return {
        statusCode: 400,
        body: { code: RESULT_CODES.INVALID_INPUT, msg: `invalid input format: ${error.message}` },
      };
    }
    return { statusCode: 500, body: { code: RESULT_CODES.FAILED, msg: 'internal error' } };
  },
};
