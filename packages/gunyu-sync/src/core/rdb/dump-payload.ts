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
  const payload = Buffer.allocUnsafe(1 + value.length + 2 + 8);
  payload[0] = type;
  payload.set(value, 1);
  payload.writeUInt16LE(rdbVersion, 1 + value.length);
  const crc = new Crc64().update(payload, 0, 1 + value.length + 2);
  crc.writeLittleEndian(payload, 1 + value.length + 2);
  return payload;
}
