// A brand, not instanceof, so the check holds across two bundled copies of this package
// (an app bundle and a library loaded beside it) and across realms.
const DOMAIN_ERROR_BRAND = Symbol.for('@kvforge.runtime.domain-error');

export interface DomainErrorOptions {
  cause?: unknown;
  /** Structured facts for logs and envelopes (never secrets). */
  details?: unknown;
}

/**
 * The base of every product's domain errors: a stable `code` (`KVSTORE_ERR_*`, `GUNYU_ERR_*`,
 * `DCACHE_ERR_*`, `MMC_ERR_*`) and no HTTP status — only a product's HTTP plugin maps codes to its
 * spec's envelope.
 */
export class DomainError<Code extends string = string> extends Error {
  readonly [DOMAIN_ERROR_BRAND] = true;
  readonly code: Code;
  readonly details?: unknown;

  constructor(code: Code, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.details !== undefined) this.details = options.details;
  }

  static isInstance(error: unknown): error is DomainError {
    return typeof error === 'object' && error !== null && DOMAIN_ERROR_BRAND in error;
  }

  /** True for a DomainError whose code starts with `prefix` (e.g. `DCACHE_ERR_`). */
  static hasCodePrefix(error: unknown, prefix: string): error is DomainError {
    return DomainError.isInstance(error) && error.code.startsWith(prefix);
  }
}
