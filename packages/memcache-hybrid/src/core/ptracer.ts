/** The meta service's tracepoints in the original's enum order (rows print in this order). */
export const TRACEPOINTS = [
  'TP_MMC_META_MGR_ALLOC',
  'TP_MMC_META_MGR_GET',
  'TP_MMC_META_ALLOC',
  'TP_MMC_META_PUT',
  'TP_MMC_META_BATCH_PUT',
  'TP_MMC_META_GET',
  'TP_MMC_META_BATCH_GET',
  'TP_MMC_META_UPDATE',
  'TP_MMC_META_BATCH_UPDATE',
  'TP_MMC_META_REMOVE',
  'TP_MMC_META_BATCH_REMOVE',
  'TP_MMC_META_REMOVE_ALL',
  'TP_MMC_META_EXIST',
  'TP_MMC_META_BATCH_EXIST',
  'TP_MMC_META_QUERY',
  'TP_MMC_META_BATCH_QUERY',
  'TP_MMC_META_BM_REGISTER',
  'TP_MMC_META_BM_UNREGISTER',
  'TP_MMC_META_CLEAR_RESOURCE',
] as const;

export type Tracepoint = (typeof TRACEPOINTS)[number];
export const TRACEPOINT_ID = Object.fromEntries(TRACEPOINTS.map((name, index) => [name, index])) as Record<
  Tracepoint,
  number
>;

const COUNT = TRACEPOINTS.length;

/**
 * Cumulative per-tracepoint statistics like memfabric's ptracer: begin, good end, bad end, and min/max/
 * total time of good ends in nanoseconds (bad ends are counted, never timed). Typed arrays: no allocation.
 */
export class Ptracer {
  enabled: boolean;
  private readonly begins = new Float64Array(COUNT);
  private readonly goodEnds = new Float64Array(COUNT);
  private readonly badEnds = new Float64Array(COUNT);
  private readonly minimum = new Float64Array(COUNT).fill(Number.POSITIVE_INFINITY);
  private readonly maximum = new Float64Array(COUNT);
  private readonly total = new Float64Array(COUNT);

  constructor(enabled = true) {
    this.enabled = enabled;
  }

  /** Starts a span; returns a start time for `end`. */
  begin(id: number): number {
    if (!this.enabled) return 0;
    this.begins[id] = (this.begins[id] as number) + 1;
    return performance.now();
  }

  /** Ends a span; returns the end time so a caller can end an enclosing span with it too. */
  end(id: number, startedAt: number, good: boolean, endedAt = this.enabled ? performance.now() : 0): number {
    if (!this.enabled) return 0;
    if (!good) {
      this.badEnds[id] = (this.badEnds[id] as number) + 1;
      return endedAt;
    }
    const nanoseconds = (endedAt - startedAt) * 1e6;
    this.goodEnds[id] = (this.goodEnds[id] as number) + 1;
    this.total[id] = (this.total[id] as number) + nanoseconds;
    if (nanoseconds < (this.minimum[id] as number)) this.minimum[id] = nanoseconds;
    if (nanoseconds > (this.maximum[id] as number)) this.maximum[id] = nanoseconds;
    return endedAt;
  }

  /** Starts a span at a time taken for an enclosing span (one clock read for both). */
  beginAt(id: number, startedAt: number): number {
    if (this.enabled) this.begins[id] = (this.begins[id] as number) + 1;
    return startedAt;
  }

  /** Average good-end time in microseconds (0 without good ends). */
  averageMicroseconds(id: number): number {
    const good = this.goodEnds[id] as number;
    return good === 0 ? 0 : (this.total[id] as number) / good / 1000;
  }

  /**
   * The text of GET /metrics/ptracer: a header, then one fixed-width row per tracepoint that has begun.
   * `filter` keeps only rows whose name contains one of the strings. Empty when disabled.
   */
  render(now: Date, filter?: readonly string[]): string {
    if (!this.enabled) return '';
    const columns = ['BEGIN', 'GOOD_END', 'BAD_END', 'ON_FLY', 'MIN(us)', 'MAX(us)', 'AVG(us)', 'TOTAL(us)'];
    let text = `${'TIME'.padEnd(23)}${'NAME'.padEnd(40)}${columns.map((column) => column.padEnd(15)).join('')}\n`;
    const time = `${formatLocalTime(now)}    `;
    for (let id = 0; id < COUNT; id++) {
      const begins = this.begins[id] as number;
      if (begins === 0) continue;
      const name = TRACEPOINTS[id] as string;
      if (filter && !filter.some((part) => name.includes(part))) continue;
      const good = this.goodEnds[id] as number;
      const bad = this.badEnds[id] as number;
      const microseconds = (value: number) => (value / 1000).toFixed(3);
      const values = [
        String(begins),
        String(good),
        String(bad),
        String(Math.max(begins - good - bad, 0)),
        good === 0 ? '0.000' : microseconds(this.minimum[id] as number),
        microseconds(this.maximum[id] as number),
        this.averageMicroseconds(id).toFixed(3),
        microseconds(this.total[id] as number),
      ];
      text += `${time}${name.padEnd(40)}${values.map((value) => value.padEnd(15)).join('')}\n`;
    }
    return text;
  }
}

function formatLocalTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
