/** The first byte of every RESP2/RESP3 frame. */
export const RESP_TYPE = {
  simpleString: 0x2b, // +
  error: 0x2d, // -
  integer: 0x3a, // :
  bulkString: 0x24, // $
  array: 0x2a, // *
  null: 0x5f, // _
  double: 0x2c, // ,
  boolean: 0x23, // #
  bulkError: 0x21, // !
  verbatimString: 0x3d, // =
  bigNumber: 0x28, // (
  map: 0x25, // %
  set: 0x7e, // ~
  push: 0x3e, // >
  attribute: 0x7c, // |
  streamedChunk: 0x3b, // ;  a chunk of a streamed string ($?)
  streamedEnd: 0x2e, // .  the end of a streamed aggregate (*? %? ~?)
} as const;

export type RespTypeByte = (typeof RESP_TYPE)[keyof typeof RESP_TYPE];
