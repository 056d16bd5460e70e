import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeTempDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kvforge-${prefix}-`));
}

export function removeDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
}
