import type { RespWriter } from '@kvforge/resp';

/**
 * `RespWriter#take()` may return a copy or a view of its internal buffer (the codec documents which).
 * Bytes that outlive the next write — queued in a socket, or held until a MIGRATE answers — must not
 * share memory the writer reuses, so a view that is not a whole buffer of its own is copied.
 */
export function takeOwned(writer: RespWriter): Buffer {
  const bytes = writer.take();
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length ? bytes : Buffer.from(bytes);
}
