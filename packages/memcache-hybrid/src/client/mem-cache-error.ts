import { DomainError } from '@kvforge/runtime';
import { MMC } from '../core/codes';

const NAMES: Readonly<Record<number, string>> = Object.freeze({
  [MMC.ERROR]: 'MMC_ERROR',
  [MMC.INVALID_PARAM]: 'MMC_INVALID_PARAM',
  [MMC.DUPLICATED_OBJECT]: 'MMC_DUPLICATED_OBJECT',
  [MMC.OBJECT_NOT_EXISTS]: 'MMC_OBJECT_NOT_EXISTS',
  [MMC.EXCEED_CAPACITY]: 'MMC_EXCEED_CAPACITY',
  [MMC.NOT_ENOUGH_MEMORY]: 'MMC_NOT_ENOUGH_MEMORY',
  [MMC.UNMATCHED_STATE]: 'MMC_UNMATCHED_STATE',
  [MMC.UNMATCHED_KEY]: 'MMC_UNMATCHED_KEY',
  [MMC.UNMATCHED_RET]: 'MMC_UNMATCHED_RET',
  [MMC.NOT_LEADER]: 'NOT_LEADER',
  [MMC.STALE_VIEW]: 'STALE_VIEW',
});

export type MemCacheErrorCode =
  | 'MMC_ERR_DUPLICATED_OBJECT'
  | 'MMC_ERR_NOT_FOUND'
  | 'MMC_ERR_NO_READABLE_REPLICA'
  | 'MMC_ERR_BUFFER_TOO_SMALL'
  | 'MMC_ERR_META'
  | 'MMC_ERR_STALE_VIEW';

/**
 * A client operation failed. `result` is the original's MmcErrorCode: -3006 (MMC_DUPLICATED_OBJECT) on a
 * duplicate put, which callers treat as "already cached".
 */
export class MemCacheError extends DomainError<MemCacheErrorCode> {
  constructor(
    code: MemCacheErrorCode,
    readonly result: number,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
  }

  /**
   * The put's space was allocated by a meta leader that has since lost its leadership (HA failover): the
   * local service or the new leader refused it, nothing of it is readable, and putting again is safe.
   */
  static staleView(operation: string, key: string, cause?: unknown): MemCacheError {
    return new MemCacheError(
      'MMC_ERR_STALE_VIEW',
      MMC.STALE_VIEW,
      `${operation} ${key}: allocated by a former meta leader (stale view_version), refused; retry the put`,
      cause === undefined ? {} : { cause },
    );
  }

  static fromResult(operation: string, key: string, result: number): MemCacheError {
    const name = NAMES[result] ?? `result ${result}`;
    if (result === MMC.DUPLICATED_OBJECT) {
      return new MemCacheError(
        'MMC_ERR_DUPLICATED_OBJECT',
        result,
        `${operation} ${key}: already cached (${name} ${result})`,
      );
    }
    if (result === MMC.UNMATCHED_KEY) {
      return new MemCacheError('MMC_ERR_NOT_FOUND', result, `${operation} ${key}: no such key`);
    }
    if (result === MMC.STALE_VIEW) return MemCacheError.staleView(operation, key);
    return new MemCacheError(
      'MMC_ERR_META',
      result,
      `${operation} ${key}: meta service answered ${name} (${result})`,
    );
  }
}
