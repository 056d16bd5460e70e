import { Crc64 } from './crc64';

/** RDB version written into DUMP payload footers; 6 is accepted by every target ≥ 3.0 (as GunYu). */
export const DUMP_PAYLOAD_RDB_VERSION = 6;

/**
 * A RESTORE payload from a raw RDB value, without re-encoding:
 * `[type][value][u16 LE rdb version][u64 LE crc64 of everything before]` (cluster.c createDumpPayload).
 */
export function buildDumpPayload(
  type: number,
  value: Uint8Array,
  rdbVersion = DUMP_PAYLOAD_RDB_VERSION,
): Buffer {
  const payload = Buffer.allocUnsafe(1 + value.length + DUMP_FOOTER_BYTES);
  payload[0] = type;
  payload.set(value, 1);
  writeDumpFooter(type, value, payload.subarray(1 + value.length), rdbVersion);
  return payload;
}

/** Bytes after `[type][value]` in a DUMP payload. */
export const DUMP_FOOTER_BYTES = 10;

const crc = new Crc64();
const typeByte = new Uint8Array(1);

/** Writes `[u16 LE rdb version][u64 LE crc64 of type+value+version]` into `footer` (10 bytes). */
export function writeDumpFooter(
  type: number,
  value: Uint8Array,
  footer: Uint8Array,
  rdbVersion = DUMP_PAYLOAD_RDB_VERSION,
): void {
  footer[0] = rdbVersion & 0xff;
  footer[1] = rdbVersion >> 8;
  typeByte[0] = type;
  crc.low = 0;
  crc.high = 0;
  crc.update(typeByte).update(value).update(footer, 0, 2).writeLittleEndian(footer, 2);
}
