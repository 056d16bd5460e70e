/** Bad RESP input. `offset` is the absolute position in the buffer given to the scanner. */
export class RespProtocolError extends Error {
  readonly code = 'RESP_ERR_PROTOCOL';
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.name = 'RespProtocolError';
    this.offset = offset;
  }

  static isInstance(value: unknown): value is RespProtocolError {
    return value instanceof RespProtocolError;
  }
}
