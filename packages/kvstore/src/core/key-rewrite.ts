import { createHash } from 'node:crypto';
import { globMatch } from './glob-match';

/**
 * The original's "logical delete": a key matching any pattern is replaced by the hex SHA1 of the key
 * before it is hashed and prefixed, so old values stop being visible until the pattern is removed.
 */
export class KeyRewriter {
  private patterns: { text: string; bytes: Buffer }[] = [];

  get size(): number {
    return this.patterns.length;
  }

  list(): string[] {
    return this.patterns.map((pattern) => pattern.text);
  }

  /** false when already present. */
  add(pattern: string): boolean {
    if (this.patterns.some((existing) => existing.text === pattern)) return false;
    this.patterns.push({ text: pattern, bytes: Buffer.from(pattern) });
    return true;
  }

  /** false when absent. */
  delete(pattern: string): boolean {
    const before = this.patterns.length;
    this.patterns = this.patterns.filter((existing) => existing.text !== pattern);
    return this.patterns.length !== before;
  }

  /** The replacement key bytes, or undefined when no pattern matches (the common, allocation-free case). */
  rewrite(bytes: Uint8Array, start: number, end: number): Buffer | undefined {
    for (const pattern of this.patterns) {
      if (globMatch(pattern.bytes, bytes, start, end)) {
        return Buffer.from(createHash('sha1').update(bytes.subarray(start, end)).digest('hex'), 'latin1');
      }
    }
    return undefined;
  }
}
