import type { RespWriter } from '@kvforge/resp';
import { KeyRewriter } from '../core/key-rewrite';
import { murmurHash2 } from '../core/murmur-hash2';

const CRLF = Buffer.from('\r\n');
const BULK_HEADERS = Array.from({ length: 1024 }, (_, length) => Buffer.from(`$${length}\r\n`));

function bulkHeader(length: number): Buffer {
  return length < BULK_HEADERS.length ? (BULK_HEADERS[length] as Buffer) : Buffer.from(`$${length}\r\n`);
}

/**
 * Where a key lives and how it is written to Redis, as the original does it: the bucket is
 * `murmur2(key) % bucket_count` (after the logical-delete rewrite) and the stored key is `<bucket>_<key>`.
 * Hashes key bytes in place; no allocation unless a rewrite pattern matches.
 */
export class KeyPlacement {
  readonly keyRewriter = new KeyRewriter();
  /** The rewritten key found by the last `bucketOf` (undefined when no pattern matched). */
  rewritten: Buffer | undefined;
  // Cached `<bucket>_` prefixes.
  private prefixes: Buffer[] = [];

  setBucketCount(count: number): void {
    if (this.prefixes.length !== count) {
      this.prefixes = Array.from({ length: count }, (_, bucket) => Buffer.from(`${bucket}_`));
    }
  }

  bucketOf(buffer: Buffer, keyStart: number, keyEnd: number): number {
    const rewritten =
      this.keyRewriter.size > 0 ? this.keyRewriter.rewrite(buffer, keyStart, keyEnd) : undefined;
    this.rewritten = rewritten;
    const hash = rewritten
      ? murmurHash2(rewritten, 0, rewritten.length)
      : murmurHash2(buffer, keyStart, keyEnd);
    return hash % this.prefixes.length;
  }

  /** `$<len>\r\n<bucket>_<key>\r\n` for the key at buffer[keyStart, keyEnd) (or its rewrite). */
  writeKey(
    writer: RespWriter,
    bucket: number,
    buffer: Buffer,
    keyStart: number,
    keyEnd: number,
    rewritten: Buffer | undefined,
  ): void {
    const prefix = this.prefixes[bucket] as Buffer;
    const keyLength = rewritten ? rewritten.length : keyEnd - keyStart;
    writer.writeRaw(bulkHeader(prefix.length + keyLength));
    writer.writeRaw(prefix);
    if (rewritten) writer.writeRaw(rewritten);
    else writer.writeRaw(buffer, keyStart, keyEnd);
    writer.writeRaw(CRLF);
  }
}
