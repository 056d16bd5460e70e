import { DomainError } from '@kvforge/runtime';
/** Stable error codes of gunyu-sync (no HTTP status here; the HTTP plugin maps them). */
export const GUNYU_ERROR_CODES = {
  rdbCorrupted: 'GUNYU_ERR_RDB_CORRUPTED',
  rdbChecksum: 'GUNYU_ERR_RDB_CHECKSUM',
  rdbUnsupported: 'GUNYU_ERR_RDB_UNSUPPORTED',
  replication: 'GUNYU_ERR_REPLICATION',
  target: 'GUNYU_ERR_TARGET',
  config: 'GUNYU_ERR_CONFIG',
  unknownInput: 'GUNYU_ERR_UNKNOWN_INPUT',
  stopped: 'GUNYU_ERR_STOPPED',
  /** A step of POST /syncer/fullsync failed (the input keeps running). */
  fullSync: 'GUNYU_ERR_FULL_SYNC',
} as const;

export type GunyuErrorCode = (typeof GUNYU_ERROR_CODES)[keyof typeof GUNYU_ERROR_CODES];

export class GunyuError extends DomainError<GunyuErrorCode> {
  /** Byte offset in the RDB stream, when the error comes from the parser. */
  readonly offset: number | undefined;

  constructor(code: GunyuErrorCode, message: string, offset?: number) {
    super(code, offset === undefined ? message : `${message} (offset ${offset})`);
    this.offset = offset;
  }
}
