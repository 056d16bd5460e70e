/** The seed the original kvstore uses for bucket placement. */
export const KVSTORE_HASH_SEED = 97;

const M = 0x5bd1e995;

/**
 * Austin Appleby's 32-bit MurmurHash2, little-endian, exactly as the original kvstore computes it:
 * the 1–3 tail bytes are read as signed `int8_t`, so bytes ≥ 0x80 sign-extend. Hashes `bytes[start, end)`
 * in place (no copy) and returns an unsigned 32-bit integer.
 */
export function murmurHash2(
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
  seed: number = KVSTORE_HASH_SEED,
): number {
  let length = end - start;
  let hash = seed ^ length;
  let index = start;
  while (length >= 4) {
    let k = bytes[index]! | (bytes[index + 1]! << 8) | (bytes[index + 2]! << 16) | (bytes[index + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    hash = Math.imul(hash, M) ^ k;
    index += 4;
    length -= 4;
  }
  // `(byte << 24) >> 24` sign-extends like the original's int8_t read.
  if (length === 3) hash ^= ((bytes[index + 2]! << 24) >> 24) << 16;
  if (length >= 2) hash ^= ((bytes[index + 1]! << 24) >> 24) << 8;
  if (length >= 1) {
    hash ^= (bytes[index]! << 24) >> 24;
    hash = Math.imul(hash, M);
  }
  hash ^= hash >>> 13;
  hash = Math.imul(hash, M);
  hash ^= hash >>> 15;
  return hash >>> 0;
}

/** The bucket of a key: `murmur2(key, seed 97) % bucketCount`. */
export function bucketOf(bytes: Uint8Array, start: number, end: number, bucketCount: number): number {
  return murmurHash2(bytes, start, end) % bucketCount;
}
