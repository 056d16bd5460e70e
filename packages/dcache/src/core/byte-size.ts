const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** `256mb`, `1.5g`, `4096` → bytes (binary units, as Redis's maxmemory reads them). */
export function parseByteSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const multiplier = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || multiplier === undefined)
    throw new Error(`invalid byte size "${text}" (e.g. 256mb, 1g, 65536)`);
  return Math.floor(Number(match[1]) * multiplier);
}
