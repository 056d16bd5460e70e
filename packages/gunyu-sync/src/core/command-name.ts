import { toUpperAscii } from '@kvforge/resp';

const MAX_NAME_BYTES = 32;
const MAX_CACHED_NAMES = 1024;

/** Upper-case names already seen, by case-insensitive hash (a stream uses a few dozen commands). */
const namesByHash = new Map<number, string>();

/**
 * The upper-case command name at `buffer[start, end)`. Names seen before come back as the same
 * interned string, so routing a replication stream allocates no string per command.
 */
export function commandName(buffer: Uint8Array, start: number, end: number): string {
  if (end - start > MAX_NAME_BYTES) return toUpperAscii(buffer, start, end);
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ upper(buffer[i] as number), 0x01000193);
  const cached = namesByHash.get(hash);
  if (cached !== undefined && sameName(cached, buffer, start, end)) return cached;
  const name = toUpperAscii(buffer, start, end);
  if (cached === undefined && namesByHash.size < MAX_CACHED_NAMES) namesByHash.set(hash, name);
  return name;
}

function upper(byte: number): number {
  return byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte;
}

function sameName(name: string, buffer: Uint8Array, start: number, end: number): boolean {
  if (name.length !== end - start) return false;
  for (let i = 0; i < name.length; i++)
    if (name.charCodeAt(i) !== upper(buffer[start + i] as number)) return false;
  return true;
}
