import { type Clock, type Logger, SILENT_LOGGER, SYSTEM_CLOCK } from '@kvforge/runtime';
import { DEFAULT_PARTITION_COUNT } from '../core/hash';

export interface DcacheNodeOptions {
  nodeId: string;
  /** host:port other nodes and clients use to reach this node. */
  address: string;
  /** host:port of nodes to join through. */
  seeds: string[];
  /** Total copies of each partition, primary included. */
  replicas: number;
  /** Copies (primary included) that must hold a write before it is acknowledged. */
  writeQuorum: number;
  maxMemoryBytes: number;
  maxValueBytes: number;
  /**
   * Longest key in UTF-8 bytes. 4 KiB keeps even a fully percent-encoded key (3 URL bytes per key
   * byte) inside Node's 16 KiB request-head limit, so an oversize key is always this 400, not a reset.
   */
  maxKeyBytes: number;
  partitionCount: number;
  clusterToken?: string;
  /** Failure detection: one direct probe per peer per interval. */
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** Peers asked to probe a node that failed the direct probe. */
  indirectProbes: number;
  /** A suspect that stays unreachable this long is removed from the ring. */
  deadAfterMs: number;
  /** Anti-entropy: how often a primary compares digests with its replicas. */
  repairIntervalMs: number;
  /** Anti-entropy rate limit: partitions compared per round (hinted ones first). */
  repairPartitionsPerRound: number;
  /** Partitions fetched per migration request. */
  migrationBatchPartitions: number;
  /** Without a reachable seed, a node whose address is not the lowest of the seeds bootstraps alone after this. */
  bootstrapTimeoutMs: number;
  /** A node leaving waits at most this long for the others to pull its partitions. */
  leaveTimeoutMs: number;
  /** Partitions this node no longer holds are dropped after this. */
  dropAfterMs: number;
  requestTimeoutMs: number;
  /**
   * After a node learns it was cut off (removed while paused or partitioned), it refuses writes
   * this long, so requests that queued up meanwhile are not applied late. @default max(2 × deadAfterMs, 2 s)
   */
  cutOffQuarantineMs?: number;
  /**
   * Test hook: serves `POST /internal/fault/deny` (a deny-list of peer addresses this node refuses
   * to call, as if the network were cut), so tests can partition real processes. Off in production.
   */
  faultInjection: boolean;
  /**
   * `seeds`: join through seeds, the coordinator pushes tables and removes dead nodes.
   * `external`: an external membership (EtcdMembership) installs the tables; no join, no removal here.
   */
  membership: 'seeds' | 'external';
  /** Time of TTLs, versions, failure detection and retries. @default SYSTEM_CLOCK */
  clock: Clock;
  logger: Logger;
}

export const DEFAULT_DCACHE_NODE_OPTIONS: Omit<DcacheNodeOptions, 'nodeId' | 'address'> = {
  seeds: [],
  replicas: 2,
  writeQuorum: 2,
  maxMemoryBytes: 256 * 1024 * 1024,
  maxValueBytes: 1024 * 1024,
  maxKeyBytes: 4096,
  partitionCount: DEFAULT_PARTITION_COUNT,
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectProbes: 2,
  deadAfterMs: 5000,
  repairIntervalMs: 2000,
  repairPartitionsPerRound: 32,
  migrationBatchPartitions: 16,
  bootstrapTimeoutMs: 10_000,
  leaveTimeoutMs: 30_000,
  dropAfterMs: 30_000,
  requestTimeoutMs: 3000,
  faultInjection: false,
  membership: 'seeds',
  clock: SYSTEM_CLOCK,
  logger: SILENT_LOGGER,
};

export type NodeStatus = 'healthy' | 'suspect' | 'unhealthy';

export interface MemberHealth {
  status: NodeStatus;
  lastSeen: number;
  responseTimeMs: number;
  suspectSince: number;
}

export interface ReadResult {
  found: boolean;
  valueJson: string;
  nodeId: string;
  /** With `get(key, true)` on a forward: the owner's client-format body, to send as is. */
  rawBody?: string;
}

export interface MigrationStats {
  migratedKeys: number;
  durationMs: number;
  lastMigration: number;
  running: boolean;
  pendingPartitions: number;
  migrations: number;
}

export interface NodeCounters {
  forwards: number;
  forwardFailures: number;
  replicaFallbacks: number;
  migrationFallbackReads: number;
}
