const APP_ERROR_MARKER = Symbol.for('@kvforge.common-http.app-error');

export interface AppErrorOptions {
  code: string;
  statusCode: number;
  message: string;
  details?: unknown;
  cause?: unknown;
}

/** An error that already knows its HTTP status; products' envelopes decide how it is rendered. */
export class AppError extends Error {
  readonly [APP_ERROR_MARKER] = true;
  readonly code: string;
  readonly statusCode: number;
  readonly details?: unknown;

  constructor(options: AppErrorOptions) {
    super(options.message, { cause: options.cause });
    this.name = 'AppError';
    this.code = options.code;
    this.statusCode = options.statusCode;
    this.details = options.details;
  }

  // A marker, not instanceof, so the check survives two bundled copies of this package.
  static isInstance(error: unknown): error is AppError {
    return typeof error === 'object' && error !== null && APP_ERROR_MARKER in error;
  }
}

/** Stable codes for errors raised by the HTTP layer itself. */
export const COMMON_ERROR_CODES = {
  VALIDATION: 'COMMON_ERR_VALIDATION',
  BAD_JSON: 'COMMON_ERR_BAD_JSON',
  NOT_FOUND: 'COMMON_ERR_NOT_FOUND',
  INTERNAL: 'COMMON_ERR_INTERNAL',
} as const;
