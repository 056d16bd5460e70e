import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '@kvforge/runtime';

/**
 * What the REST plugin needs from the `/metadata` store; a `Map<string, Buffer>` is one (in memory). A
 * durable store returns promises from `set`/`delete`: the plugin answers only once they resolve.
 */
export interface MetadataStore {
  get(key: string): Buffer | undefined;
  set(key: string, value: Buffer): unknown;
  delete(key: string): boolean | Promise<boolean>;
}

/**
 * The embedded file store of `/metadata`: the whole map in one JSON file (values base64, byte for byte),
 * rewritten on every change with runtime's `writeFileAtomic` (temp file, fsync, rename, directory fsync) —
 * a crash leaves the old or the new file, never a torn one. `/metadata` is a small, cold configuration map,
 * so a whole-file rewrite per change is cheap enough. Writes are chained: each one snapshots the map when
 * its turn comes, so an older snapshot can never be renamed over a newer one.
 */
export class FileMetadataStore implements MetadataStore {
  readonly path: string;
  private readonly values = new Map<string, Buffer>();
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text !== undefined) {
      const stored = JSON.parse(text) as Record<string, string>;
      for (const [key, value] of Object.entries(stored)) this.values.set(key, Buffer.from(value, 'base64'));
    }
  }

  get(key: string): Buffer | undefined {
    return this.values.get(key);
  }

  /** Resolves once the new value is durable on disk. */
  set(key: string, value: Buffer): Promise<void> {
    this.values.set(key, value);
    return this.persist();
  }

  /** Resolves (true) once the deletion is durable; false, with no write, for a missing key. */
  async delete(key: string): Promise<boolean> {
    if (!this.values.delete(key)) return false;
    await this.persist();
    return true;
  }

  get size(): number {
    return this.values.size;
  }

  private persist(): Promise<void> {
    // A failed write does not block later ones; the caller of the failed one sees its error.
    const write = this.lastWrite
      .catch(() => undefined)
      .then(() => writeFileAtomic(this.path, this.serialize()));
    this.lastWrite = write;
    return write;
  }

  private serialize(): string {
    const stored: Record<string, string> = {};
    for (const [key, value] of this.values) stored[key] = value.toString('base64');
    return JSON.stringify(stored);
  }
}
