/** FNV-1a 32-bit over the UTF-8 bytes of `key`, encoded inline so no Buffer is allocated per key. */
export function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index++) {
    let code = key.charCodeAt(index);
    if (code < 0x80) {
      hash = Math.imul(hash ^ code, 0x01000193);
      continue;
    }
    if (code < 0x800) {
      hash = Math.imul(hash ^ (0xc0 | (code >> 6)), 0x01000193);
    } else {
      if (code >= 0xd800 && code < 0xdc00 && index + 1 < key.length) {
        const low = key.charCodeAt(index + 1);
        if (low >= 0xdc00 && low < 0xe000) {
          index++;
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          hash = Math.imul(hash ^ (0xf0 | (code >> 18)), 0x01000193);
          hash = Math.imul(hash ^ (0x80 | ((code >> 12) & 0x3f)), 0x01000193);
          hash = Math.imul(hash ^ (0x80 | ((code >> 6) & 0x3f)), 0x01000193);
          hash = Math.imul(hash ^ (0x80 | (code & 0x3f)), 0x01000193);
          continue;
        }
      }
      // A lone surrogate is encoded as U+FFFD, as Buffer.from(key, 'utf8') does.
      if (code >= 0xd800 && code < 0xe000) code = 0xfffd;
      hash = Math.imul(hash ^ (0xe0 | (code >> 12)), 0x01000193);
      hash = Math.imul(hash ^ (0x80 | ((code >> 6) & 0x3f)), 0x01000193);
    }
    hash = Math.imul(hash ^ (0x80 | (code & 0x3f)), 0x01000193);
  }
  return hash >>> 0;
}

/** Fixed partition count, as Hazelcast and olric use: small enough to ship the table, large enough to balance. */
export const DEFAULT_PARTITION_COUNT = 271;

export function partitionOf(key: string, partitionCount: number = DEFAULT_PARTITION_COUNT): number {
  return hashKey(key) % partitionCount;
}
