/** An error reply (`-ERR …` or RESP3 `!`), returned as a value, never thrown by the decoder. */
export class RespErrorReply extends Error {
  /** The first word of the message, e.g. `ERR`, `WRONGTYPE`, `MOVED`. */
  readonly prefix: string;

  constructor(message: string) {
    super(message);
    this.name = 'RespErrorReply';
    const space = message.indexOf(' ');
    this.prefix = space < 0 ? message : message.slice(0, space);
  }
}

/** An out-of-band RESP3 push message (`>`), e.g. pub/sub or invalidation. */
export class RespPush {
  constructor(readonly items: RespValue[]) {}
}

/** A RESP3 verbatim string (`=`): its three-letter format (`txt`, `mkd`) and content. */
export class RespVerbatimString {
  constructor(
    readonly format: string,
    readonly text: string,
  ) {}
}

export type RespValue =
  | string
  | Buffer
  | number
  | bigint
  | boolean
  | null
  | RespErrorReply
  | RespPush
  | RespVerbatimString
  | RespValue[]
  | Map<RespValue, RespValue>
  | { [key: string]: RespValue };
