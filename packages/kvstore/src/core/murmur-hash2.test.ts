import { seededRandom } from '@kvforge/testing';
import { describe, expect, it } from 'vitest';
import { bucketOf, murmurHash2 } from './murmur-hash2';

// Computed by compiling the original's `mur_mur_hash2` (C, seed 97) on x86-64.
const GOLDEN: ReadonlyArray<readonly [string, number, number]> = [
  ['', 3397915750, 102],
  ['61', 3914231485, 701],
  ['6162', 1753992090, 922],
  ['616263', 1834890600, 360],
  ['61626364', 1413426909, 733],
  ['666f6f', 2197288083, 147],
  ['6b65793a31', 777818676, 564],
  ['68656c6c6f20776f726c64', 1923318524, 764],
  ['757365723a31303030', 603114732, 236],
  ['6b7673746f7265', 521842032, 368],
  ['ff', 713507990, 150],
  ['8081', 789935694, 590],
  ['e4bda0e5a5bd', 3587250537, 361],
  ['fefffdfcfbfaf9', 4186220454, 934],
];

/** A second, deliberately different implementation: BigInt arithmetic and a DataView for the blocks. */
function referenceMurmur2(bytes: Uint8Array, seed: number): number {
  const mask = 0xffffffffn;
  const m = 0x5bd1e995n;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let h = (BigInt(seed) ^ BigInt(bytes.length)) & mask;
  const blocks = Math.floor(bytes.length / 4);
  for (let block = 0; block < blocks; block++) {
    let k = BigInt(view.getUint32(block * 4, true));
    k = (k * m) & mask;
    k ^= k >> 24n;
    k = (k * m) & mask;
    h = ((h * m) & mask) ^ k;
  }
  const tail = bytes.length % 4;
  const signed = (index: number): bigint => BigInt(view.getInt8(blocks * 4 + index));
  if (tail >= 3) h ^= (signed(2) << 16n) & mask;
  if (tail >= 2) h ^= (signed(1) << 8n) & mask;
  if (tail >= 1) {
    h ^= signed(0) & mask;
    h = (h * m) & mask;
  }
  h ^= h >> 13n;
  h = (h * m) & mask;
  h ^= h >> 15n;
  return Number(h);
}

describe('murmurHash2', () => {
  it.each(GOLDEN)('matches the original for %s', (hex, hash, bucket) => {
    const bytes = Buffer.from(hex, 'hex');
    expect(murmurHash2(bytes)).toBe(hash);
    expect(bucketOf(bytes, 0, bytes.length, 1024)).toBe(bucket);
  });

  it('hashes a slice in place like a copy of the slice', () => {
    const buffer = Buffer.from('xxhello worldyy');
    expect(murmurHash2(buffer, 2, 13)).toBe(murmurHash2(Buffer.from('hello world')));
  });

  it('agrees with an independent BigInt implementation on random binary keys', () => {
    const random = seededRandom(42);
    const below = (limit: number) => Math.floor(random() * limit);
    for (let round = 0; round < 2000; round++) {
      const bytes = new Uint8Array(below(40));
      for (let index = 0; index < bytes.length; index++) bytes[index] = below(256);
      expect(murmurHash2(bytes)).toBe(referenceMurmur2(bytes, 97));
      expect(murmurHash2(bytes, 0, bytes.length, 7)).toBe(referenceMurmur2(bytes, 7));
    }
  });

  it('differs from an unsigned-tail variant for high tail bytes', () => {
    // With unsigned tails 0xff would xor 0x000000ff; the original xors 0xffffffff.
    const signedHash = murmurHash2(Buffer.from([0xff]));
    expect(signedHash).toBe(713507990);
    expect(murmurHash2(Buffer.from([0x7f]))).toBe(referenceMurmur2(Buffer.from([0x7f]), 97));
  });
});
