import { DomainError } from '@kvforge/runtime';
/** Stable codes of kvstore's domain errors; only the HTTP plugins map them to the spec's 100x codes. */
export const KVSTORE_ERROR_CODES = {
  INVALID_JSON: 'KVSTORE_ERR_INVALID_JSON',
  INVALID_INPUT: 'KVSTORE_ERR_INVALID_INPUT',
  NO_SUCH_CONFIG: 'KVSTORE_ERR_NO_SUCH_CONFIG',
  NOT_MASTER: 'KVSTORE_ERR_NOT_MASTER',
  NO_SUCH_NAMESPACE: 'KVSTORE_ERR_NO_SUCH_NAMESPACE',
  WRONG_CLUSTER_TYPE: 'KVSTORE_ERR_WRONG_CLUSTER_TYPE',
  INVALID_ADDRESS: 'KVSTORE_ERR_INVALID_ADDRESS',
  INIT_FAILED: 'KVSTORE_ERR_INIT_FAILED',
  INVALID_ACTION: 'KVSTORE_ERR_INVALID_ACTION',
  SCALE_FAILED: 'KVSTORE_ERR_SCALE_FAILED',
  REPLACE_FAILED: 'KVSTORE_ERR_REPLACE_FAILED',
  MIGRATION_FAILED: 'KVSTORE_ERR_MIGRATION_FAILED',
  STORE_FAILED: 'KVSTORE_ERR_STORE_FAILED',
} as const;

export type KvstoreErrorCode = (typeof KVSTORE_ERROR_CODES)[keyof typeof KVSTORE_ERROR_CODES];

export class KvstoreError extends DomainError<KvstoreErrorCode> {}

export function isKvstoreError(error: unknown): error is KvstoreError {
  return error instanceof KvstoreError;
}
