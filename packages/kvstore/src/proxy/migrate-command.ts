import type { RespWriter } from '@kvforge/resp';

/**
 * Writes `MIGRATE host port "" 0 timeout [AUTH password] KEYS` — the header of a multi-key MIGRATE of
 * `keyCount` keys; the caller writes the keys after it.
 */
export function writeMigrateHeader(
  writer: RespWriter,
  destination: { host: string; port: number },
  password: string,
  keyCount: number,
  timeoutMs: number,
): void {
  writer.writeArrayHeader(7 + (password ? 2 : 0) + keyCount);
  writer.writeBulk('MIGRATE');
  writer.writeBulk(destination.host);
  writer.writeBulk(String(destination.port));
  writer.writeBulk('');
  writer.writeBulk('0');
  writer.writeBulk(String(timeoutMs));
  if (password) {
    writer.writeBulk('AUTH');
    writer.writeBulk(password);
  }
  writer.writeBulk('KEYS');
}
