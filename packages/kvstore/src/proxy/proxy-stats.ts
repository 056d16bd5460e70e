import type { CommandTable } from '../core/command-table';

/** Latency bucket upper bounds in seconds (50 µs … ~1.6 s, doubling), shared by every command. */
export const PROXY_LATENCY_BUCKETS: readonly number[] = Array.from(
  { length: 16 },
  (_, index) => 0.00005 * 2 ** index,
);
const BUCKET_MICROS = PROXY_LATENCY_BUCKETS.map((seconds) => seconds * 1e6);

/**
 * Counters kept in typed arrays indexed by command id, so recording costs a few array writes
 * (reference: camellia lost 4–22 % to monitoring). Exported on scrape, never per request.
 */
export class ProxyStats {
  readonly calls: Float64Array;
  readonly errors: Float64Array;
  /** commands × (buckets + 1) cumulative-free counts; the last column is +Inf. */
  readonly latency: Float64Array;
  readonly latencySumMicros: Float64Array;
  totalCommands = 0;
  slowCommands = 0;
  rejectedQps = 0;
  rejectedClients = 0;
  backendErrors = 0;
  requestTimeouts = 0;
  private rtSumMicros = 0;
  private rtCount = 0;
  /** Recomputed once a second by `tick`. */
  averageRtMs = 0;
  qps = 0;
  private windowCommands = 0;
  private readonly width = BUCKET_MICROS.length + 1;

  constructor(readonly table: CommandTable) {
    const size = table.commands.length;
    this.calls = new Float64Array(size);
    this.errors = new Float64Array(size);
    this.latency = new Float64Array(size * this.width);
    this.latencySumMicros = new Float64Array(size);
  }

  /** One finished command: `micros` from dispatch to reply. */
  record(commandId: number, micros: number, slowMicros: number, isError: boolean): void {
    this.calls[commandId]!++;
    this.totalCommands++;
    this.windowCommands++;
    if (isError) this.errors[commandId]!++;
    if (micros >= slowMicros) this.slowCommands++;
    this.rtSumMicros += micros;
    this.rtCount++;
    this.latencySumMicros[commandId]! += micros;
    let bucket = 0;
    while (bucket < BUCKET_MICROS.length && micros > BUCKET_MICROS[bucket]!) bucket++;
    this.latency[commandId * this.width + bucket]!++;
  }

  /** Called once a second: derives qps and average_rt over the last window. */
  tick(elapsedMs: number): void {
    this.qps = elapsedMs > 0 ? Math.round((this.windowCommands * 1000) / elapsedMs) : 0;
    this.averageRtMs = this.rtCount > 0 ? this.rtSumMicros / this.rtCount / 1000 : 0;
    this.windowCommands = 0;
    this.rtSumMicros = 0;
    this.rtCount = 0;
  }

  reset(): void {
    this.calls.fill(0);
    this.errors.fill(0);
    this.latency.fill(0);
    this.latencySumMicros.fill(0);
    this.totalCommands = 0;
    this.slowCommands = 0;
    this.rtSumMicros = 0;
    this.rtCount = 0;
    this.averageRtMs = 0;
    this.qps = 0;
    this.windowCommands = 0;
  }

  /** The spec's `cmds` object: lower-case name → count, non-zero only. */
  commandCounts(): Record<string, number> {
    const result: Record<string, number> = {};
    this.table.commands.forEach((spec) => {
      const count = this.calls[spec.id]!;
      if (count > 0) result[spec.name.toLowerCase()] = count;
    });
    return result;
  }

  /** Prometheus text for the per-command series (label values are command names from the table only). */
  renderPrometheus(): string {
    const lines: string[] = [
      '# HELP kvstore_proxy_commands_total Commands answered, by command.',
      '# TYPE kvstore_proxy_commands_total counter',
    ];
    const active = this.table.commands.filter((spec) => this.calls[spec.id]! > 0);
    for (const spec of active)
      lines.push(`kvstore_proxy_commands_total{command="${spec.name}"} ${this.calls[spec.id]}`);
    lines.push(
      '# HELP kvstore_proxy_command_errors_total Error replies, by command.',
      '# TYPE kvstore_proxy_command_errors_total counter',
    );
    for (const spec of active) {
      lines.push(`kvstore_proxy_command_errors_total{command="${spec.name}"} ${this.errors[spec.id]}`);
    }
    lines.push(
      '# HELP kvstore_proxy_command_duration_seconds Time from dispatch to reply, by command.',
      '# TYPE kvstore_proxy_command_duration_seconds histogram',
    );
    for (const spec of active) {
      let cumulative = 0;
      const base = spec.id * this.width;
      PROXY_LATENCY_BUCKETS.forEach((bound, index) => {
        cumulative += this.latency[base + index]!;
        lines.push(
          `kvstore_proxy_command_duration_seconds_bucket{command="${spec.name}",le="${bound}"} ${cumulative}`,
        );
      });
      cumulative += this.latency[base + PROXY_LATENCY_BUCKETS.length]!;
      lines.push(
        `kvstore_proxy_command_duration_seconds_bucket{command="${spec.name}",le="+Inf"} ${cumulative}`,
      );
      lines.push(
        `kvstore_proxy_command_duration_seconds_sum{command="${spec.name}"} ${this.latencySumMicros[spec.id]! / 1e6}`,
      );
      lines.push(`kvstore_proxy_command_duration_seconds_count{command="${spec.name}"} ${cumulative}`);
    }
    const scalar = (name: string, type: string, help: string, value: number) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    scalar(
      'kvstore_proxy_slow_commands_total',
      'counter',
      'Commands slower than slow_cmd_time.',
      this.slowCommands,
    );
    scalar('kvstore_proxy_rejected_qps_total', 'counter', 'Commands refused by max_qps.', this.rejectedQps);
    scalar(
      'kvstore_proxy_rejected_clients_total',
      'counter',
      'Connections refused by max_client_num.',
      this.rejectedClients,
    );
    scalar(
      'kvstore_proxy_backend_errors_total',
      'counter',
      'Requests failed because a backend was down or lost.',
      this.backendErrors,
    );
    scalar(
      'kvstore_proxy_request_timeouts_total',
      'counter',
      'Requests answered with request timeout.',
      this.requestTimeouts,
    );
    return `${lines.join('\n')}\n`;
  }
}
