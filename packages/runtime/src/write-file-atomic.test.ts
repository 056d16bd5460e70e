import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './write-file-atomic';

describe('writeFileAtomic', () => {
  let directory = '';
  afterEach(async () => {
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('replaces the file and leaves no temp file behind', async () => {
    directory = await mkdtemp(join(tmpdir(), 'kvforge-atomic-'));
    const path = join(directory, 'state.json');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, Buffer.from('two'));
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(await readdir(directory)).toEqual(['state.json']);
  });

  it('fails without touching the old file when the directory is missing', async () => {
    directory = await mkdtemp(join(tmpdir(), 'kvforge-atomic-'));
    await expect(writeFileAtomic(join(directory, 'missing', 'state.json'), 'x')).rejects.toThrow();
    expect(await readdir(directory)).toEqual([]);
  });
});
