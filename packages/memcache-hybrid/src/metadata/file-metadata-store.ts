import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** What the REST plugin needs from the `/metadata` store; a `Map<string, Buffer>` is one (in memory). */
export interface MetadataStore {
  get(key: string): Buffer | undefined;
  set(key: string, value: Buffer): unknown;
  delete(key: string): boolean;
}

/**
 * The embedded file store of `/metadata`: the whole map in one JSON file (values base64, byte for byte),
 * rewritten on every change to a temporary file that is fsynced and renamed over the old one, then the
 * directory is fsynced — a crash leaves the old or the new file, never a torn one. `/metadata` is a small,
 * cold configuration map, so a whole-file rewrite per change is cheap enough.
 */
export class FileMetadataStore implements MetadataStore {
  readonly path: string;
  private readonly values = new Map<string, Buffer>();

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

  set(key: string, value: Buffer): this {
    this.values.set(key, value);
    this.persist();
    return this;
  }

  delete(key: string): boolean {
    if (!this.values.delete(key)) return false;
    this.persist();
    return true;
  }

  get size(): number {
    return this.values.size;
  }

  private persist(): void {
    const stored: Record<string, string> = {};
    for (const [key, value] of this.values) stored[key] = value.toString('base64');
    const temporary = `${this.path}.tmp`;
    const file = openSync(temporary, 'w');
    try {
      writeSync(file, JSON.stringify(stored));
      fsyncSync(file);
    } finally {
      closeSync(file);
    }
    renameSync(temporary, this.path);
    const directory = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(directory);
    } finally {
      closeSync(directory);
    }
  }
}
