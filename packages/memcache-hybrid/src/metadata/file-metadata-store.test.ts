import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileMetadataStore } from './file-metadata-store';

const directories: string[] = [];
function temporaryPath(): string {
  const directory = mkdtempSync(join(tmpdir(), 'mmc-metadata-'));
  directories.push(directory);
  return join(directory, 'metadata.json');
}

afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

describe('FileMetadataStore', () => {
  it('keeps values byte for byte across a reopen, and deletes survive too', () => {
    const path = temporaryPath();
    const store = new FileMetadataStore(path);
    expect(store.get('missing')).toBeUndefined();
    const binary = Buffer.from([0, 255, 10, 13, 34, 92]);
    store.set('binary', binary);
    store.set('text', Buffer.from('{"a":1}'));
    store.set('gone', Buffer.from('x'));
    expect(store.delete('gone')).toBe(true);
    expect(store.delete('gone')).toBe(false);
    const reopened = new FileMetadataStore(path);
    expect(reopened.get('binary')).toEqual(binary);
    expect(reopened.get('text')?.toString()).toBe('{"a":1}');
    expect(reopened.get('gone')).toBeUndefined();
    expect(reopened.size).toBe(2);
    expect(existsSync(`${path}.tmp`)).toBe(false); // renamed into place
  });

  it('starts empty without a file and refuses a corrupt one', () => {
    const path = temporaryPath();
    expect(new FileMetadataStore(path).size).toBe(0);
    writeFileSync(path, '{not json');
    expect(() => new FileMetadataStore(path)).toThrow();
    expect(readFileSync(path, 'utf8')).toBe('{not json'); // never overwritten on load
  });
});
