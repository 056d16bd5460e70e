export const CR = 0x0d;
export const LF = 0x0a;

/** Position of the `\r` of the first `\r\n` in [start, end), or -1. */
export function findCrlf(buffer: Uint8Array, start: number, end: number): number {
  let position = buffer.indexOf(CR, start);
  while (position !== -1 && position + 1 < end) {
    if (buffer[position + 1] === LF) return position;
    position = buffer.indexOf(CR, position + 1);
  }
  return -1;
}

/**
 * Parses a signed decimal integer in [start, end) the way Redis's string2ll does (optional `-`, digits
 * only, no leading `+` or spaces). Returns NaN for anything else. Exact up to 2^53.
 */
export function parseInteger(buffer: Uint8Array, start: number, end: number): number {
  if (start >= end) return Number.NaN;
  let position = start;
  let negative = false;
  if (buffer[position] === 0x2d) {
    negative = true;
    position++;
    if (position === end) return Number.NaN;
  }
  let value = 0;
  for (; position < end; position++) {
    const digit = (buffer[position] as number) - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/** ASCII case-insensitive compare of buffer[start, end) with an UPPER-CASE ASCII name, no allocation. */
export function equalsIgnoreCase(buffer: Uint8Array, start: number, end: number, upperName: string): boolean {
  if (end - start !== upperName.length) return false;
  for (let index = 0; index < upperName.length; index++) {
    let byte = buffer[start + index] as number;
    if (byte >= 0x61 && byte <= 0x7a) byte -= 0x20;
    if (byte !== upperName.charCodeAt(index)) return false;
  }
  return true;
}

/** The bytes in [start, end) as an upper-case ASCII string (for command names). */
export function toUpperAscii(buffer: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let position = start; position < end; position++) {
    let byte = buffer[position] as number;
    if (byte >= 0x61 && byte <= 0x7a) byte -= 0x20;
    text += String.fromCharCode(byte);
  }
  return text;
}
