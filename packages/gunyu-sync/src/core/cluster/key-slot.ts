/** Redis Cluster slots: CRC16/XMODEM of the key (or of its `{hash tag}`) modulo 16384. */
export const CLUSTER_SLOTS = 16384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++)
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ (bytes[i] as number)) & 0xff] as number);
  return crc;
}

/** Slot of the key `bytes[start, end)`, read in place (cluster.c keyHashSlot: first `{…}` non-empty). */
export function keySlot(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let open = -1;
  for (let i = start; i < end; i++) {
    if (bytes[i] === 0x7b) {
      open = i;
      break;
    }
  }
  if (open >= 0) {
    for (let i = open + 1; i < end; i++) {
      if (bytes[i] === 0x7d) {
        if (i > open + 1) return crc16(bytes, open + 1, i) & (CLUSTER_SLOTS - 1);
        break;
      }
    }
  }
  return crc16(bytes, start, end) & (CLUSTER_SLOTS - 1);
}

/** Slot of a string key (control plane: checkpoint keys, tests). */
export function slotOfKey(key: string): number {
  return keySlot(Buffer.from(key, 'utf8'));
}

/**
 * `<base>-<n>` with the smallest n whose slot lies in `ranges` (GunYu's choseKeyInSlots): the
 * checkpoint of a shard then lives on the node that owns the shard's slots.
 */
export function keyInSlots(base: string, ranges: readonly (readonly [number, number])[]): string {
  for (let n = 0; n < 1_000_000; n++) {
    const key = `${base}-${n}`;
    const slot = slotOfKey(key);
    if (ranges.some(([from, to]) => slot >= from && slot <= to)) return key;
  }
  return base;
}
