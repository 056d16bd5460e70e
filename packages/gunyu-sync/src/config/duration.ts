const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A Go duration ("10ms", "1m30s", "12h") in milliseconds. A bare number is nanoseconds, as Go's
 * YAML decoding of time.Duration reads it.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return value / 1e6;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) / 1e6;
  let total = 0;
  let rest = text;
  const part = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/;
  if (!rest) throw new Error(`invalid duration "${value}"`);
  while (rest) {
    const match = part.exec(rest);
    if (!match) throw new Error(`invalid duration "${value}"`);
    total += Number(match[1]) * (UNITS[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  return total;
}

/** Formats milliseconds back as a Go duration (for GET /syncer/config). */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
