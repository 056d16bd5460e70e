import type { BucketTable } from '../../core/bucket-table';
import type { ProxyRuntimeConfig } from '../proxy-config';
import type { ProxyStats } from '../proxy-stats';

/** What a worker needs to serve: sent once after fork, before any socket. */
export interface WorkerInit {
  namespace: string;
  password: string;
  /** The proxy's runtime config with this worker's share of `max_qps`. */
  config: ProxyRuntimeConfig;
  patterns: string[];
  table: BucketTable | undefined;
  maxPendingPerClient?: number;
  maxQueryBufferBytes?: number;
}

/** One worker's counters, as the primary sums them for stats_info and /metrics. */
export interface WorkerStatsSnapshot {
  calls: number[];
  errors: number[];
  latency: number[];
  latencySumMicros: number[];
  totalCommands: number;
  slowCommands: number;
  rejectedQps: number;
  rejectedClients: number;
  backendErrors: number;
  requestTimeouts: number;
  averageRtMs: number;
  qps: number;
  clientCount: number;
  tableVersion: number;
  /** This worker's share of max_qps. */
  maxQps: number;
}

/** Primary → worker. Messages to one worker are handled in the order they were sent. */
export type PrimaryMessage =
  | { type: 'init'; init: WorkerInit }
  | { type: 'table'; id: number; table: BucketTable }
  | { type: 'config'; update: Partial<ProxyRuntimeConfig> }
  | { type: 'pattern'; action: 'add' | 'delete'; pattern: string }
  | { type: 'stats'; id: number }
  | { type: 'reset-stats' }
  | { type: 'drain' };

/** The socket handle travels as the second argument of `send`. */
export interface SocketMessage {
  type: 'socket';
}

/** Worker → primary. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'initialized' }
  | { type: 'table-installed'; id: number }
  | { type: 'stats'; id: number; snapshot: WorkerStatsSnapshot }
  | { type: 'client-closed' };

function hasType(message: unknown): boolean {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { type?: unknown }).type === 'string'
  );
}

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return hasType(message);
}

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return hasType(message);
}

export function snapshotStats(
  stats: ProxyStats,
  clientCount: number,
  tableVersion: number,
  maxQps: number,
): WorkerStatsSnapshot {
  return {
    calls: Array.from(stats.calls),
    errors: Array.from(stats.errors),
    latency: Array.from(stats.latency),
    latencySumMicros: Array.from(stats.latencySumMicros),
    totalCommands: stats.totalCommands,
    slowCommands: stats.slowCommands,
    rejectedQps: stats.rejectedQps,
    rejectedClients: stats.rejectedClients,
    backendErrors: stats.backendErrors,
    requestTimeouts: stats.requestTimeouts,
    averageRtMs: stats.averageRtMs,
    qps: stats.qps,
    clientCount,
    tableVersion,
    maxQps,
  };
}

function addInto(target: Float64Array, values: readonly number[]): void {
  const length = Math.min(target.length, values.length);
  for (let index = 0; index < length; index++) target[index]! += values[index]!;
}

/**
 * Overwrites `into` with the sum of the workers' counters plus `primaryRejectedClients` (connections
 * the primary refused at max_client_num). average_rt is weighted by each worker's qps.
 */
export function mergeStats(
  into: ProxyStats,
  snapshots: readonly WorkerStatsSnapshot[],
  primaryRejectedClients: number,
): void {
  into.reset();
  into.rejectedQps = 0;
  into.rejectedClients = 0;
  into.backendErrors = 0;
  into.requestTimeouts = 0;
  let weighted = 0;
  for (const snapshot of snapshots) {
    addInto(into.calls, snapshot.calls);
    addInto(into.errors, snapshot.errors);
    addInto(into.latency, snapshot.latency);
    addInto(into.latencySumMicros, snapshot.latencySumMicros);
    into.totalCommands += snapshot.totalCommands;
    into.slowCommands += snapshot.slowCommands;
    into.rejectedQps += snapshot.rejectedQps;
    into.rejectedClients += snapshot.rejectedClients;
    into.backendErrors += snapshot.backendErrors;
    into.requestTimeouts += snapshot.requestTimeouts;
    into.qps += snapshot.qps;
    weighted += snapshot.averageRtMs * snapshot.qps;
  }
  into.rejectedClients += primaryRejectedClients;
  into.averageRtMs =
    into.qps > 0
      ? weighted / into.qps
      : snapshots.reduce((sum, snapshot) => sum + snapshot.averageRtMs, 0) / Math.max(1, snapshots.length);
}

/** Each worker's share of `max_qps` (the limit acts on the whole proxy). */
export function workerMaxQps(maxQps: number, workers: number): number {
  return Math.max(1, Math.floor(maxQps / Math.max(1, workers)));
}
