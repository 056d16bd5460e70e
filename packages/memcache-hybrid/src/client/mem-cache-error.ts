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
});

export type MemCacheErrorCode =
  | 'MMC_ERR_DUPLICATED_OBJECT'
  | 'MMC_ERR_NOT_FOUND'
  | 'MMC_ERR_NO_READABLE_REPLICA'
  | 'MMC_ERR_BUFFER_TOO_SMALL'
  | 'MMC_ERR_META';

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
    return new MemCacheError(
      'MMC_ERR_META',
      result,
      `${operation} ${key}: meta service answered ${name} (${result})`,
    );
  }
}
