import type { AdaptiveBatch } from './bucket-key-index';
import type { KeyRateLimiter } from './migration-throttle';

/** What `migration_status` answers for a namespace. */
export interface MigrationStatus {
  namespace: string;
  state: 'idle' | 'running' | 'success' | 'failed';
  /** Buckets still to move in this job (including the current one). */
  remaining_buckets: number;
  current_bucket: number;
  destination: string;
  moved_keys: number;
  error: string;
  buckets_total: number;
  buckets_done: number;
  /** moved_keys of this run ÷ its duration so far (or until it ended). */
  keys_per_second: number;
  elapsed_ms: number;
  /** 0: unlimited. */
  max_migrate_keys_per_second: number;
}

/** Per-job pacing: keys/s limit, adaptive batch, and each source's key index (built once per job). */
export interface Pacing {
  limiter: KeyRateLimiter;
  batch: AdaptiveBatch;
  indexes: Map<string, Map<number, Buffer[]>>;
  buckets: number[];
}

/** When a job (this run of it) started and ended, for keys_per_second. */
export interface JobClock {
  startedMs: number;
  startMovedKeys: number;
  endedMs?: number;
}
