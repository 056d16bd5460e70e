export { equalsIgnoreCase, findCrlf, parseInteger, toUpperAscii } from './bytes';
export { DEFAULT_RESP_DECODER_OPTIONS, decodeAll, RespDecoder, type RespDecoderOptions } from './decoder';
export { Fifo } from './fifo';
export { InputBuffer } from './input-buffer';
export { DEFAULT_RESP_LIMITS, type RespLimits } from './limits';
export { RespProtocolError } from './protocol-error';
export { ReplyScanner } from './reply-scanner';
export { RespErrorReply, RespPush, type RespValue, RespVerbatimString } from './reply-values';
export { RequestScanner } from './request-scanner';
export { RESP_TYPE, type RespTypeByte } from './resp-type';
export {
  type CommandArgument,
  DEFAULT_RESP_WRITER_OPTIONS,
  encodeCommand,
  RespWriter,
  type RespWriterOptions,
} from './writer';
