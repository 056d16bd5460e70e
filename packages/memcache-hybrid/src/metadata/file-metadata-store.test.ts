import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  it('keeps values byte for byte across a reopen, and deletes survive too', async () => {
    const path = temporaryPath();
    const store = new FileMetadataStore(path);
    expect(store.get('missing')).toBeUndefined();
    const binary = Buffer.from([0, 255, 10, 13, 34, 92]);
    await store.set('binary', binary);
    await store.set('text', Buffer.from('{"a":1}'));
    await store.set('gone', Buffer.from('x'));
    expect(await store.delete('gone')).toBe(true);
    expect(await store.delete('gone')).toBe(false);
    const reopened = new FileMetadataStore(path);
    expect(reopened.get('binary')).toEqual(binary);
    expect(reopened.get('text')?.toString()).toBe('{"a":1}');
    expect(reopened.get('gone')).toBeUndefined();
    expect(reopened.size).toBe(2);
    expect(readdirSync(dirname(path))).toEqual(['metadata.json']); // temp files renamed into place
  });

  it('writes overlapping changes in order: the file ends with the last one, whatever finishes first', async () => {
    const path = temporaryPath();
    const store = new FileMetadataStore(path);
    const writes = Array.from({ length: 20 }, (_, index) => store.set('model', Buffer.from(`v${index}`)));
    writes.push(store.delete('model').then(() => undefined));
    writes.push(store.set('last', Buffer.from('yes')));
    await Promise.all(writes);
    const reopened = new FileMetadataStore(path);
    expect(reopened.get('model')).toBeUndefined();
    expect(reopened.get('last')?.toString()).toBe('yes');
  });

  it('a failed write rejects its caller (outcome unknown, like a timeout) and does not block the next one', async () => {
    const path = temporaryPath();
    const store = new FileMetadataStore(path);
    rmSync(dirname(path), { recursive: true });
    await expect(store.set('a', Buffer.from('1'))).rejects.toThrow(/ENOENT/);
    mkdirSync(dirname(path)); // the directory comes back (an operator fixes the mount)
    await store.set('b', Buffer.from('2'));
    expect(new FileMetadataStore(path).get('a')?.toString()).toBe('1');
  });

  it('starts empty without a file and refuses a corrupt one', () => {
    const path = temporaryPath();
    expect(new FileMetadataStore(path).size).toBe(0);
    writeFileSync(path, '{not json');
    expect(() => new FileMetadataStore(path)).toThrow();
    expect(readFileSync(path, 'utf8')).toBe('{not json'); // never overwritten on load
  });
});
