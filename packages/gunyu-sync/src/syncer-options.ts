import type { Clock } from '@kvforge/runtime';
import type { FilterOptions } from './core/command-filter';
import type { ReplayOptions } from './core/replay-options';
import type { SpillingSpoolOptions } from './core/spilling-spool';
import type { LeaseTiming } from './fencing/target-lease';
import type { RedisEndpoint } from './replay/target-connection';

export type SyncerState = 'ready_run' | 'run' | 'pause' | 'stop';

export interface SyncerOptions {
  /** `host:port` of the source node, as shown by /syncer/status. */
  inputAddress: string;
  input: RedisEndpoint;
  output: RedisEndpoint;
  /** `output.redis.type: cluster`: seed addresses of the target cluster (`output` is the first). */
  outputCluster?: readonly string[] | undefined;
  /** Announced with REPLCONF listening-port (GunYu: the port of server.listen). */
  listeningPort: number;
  replay: ReplayOptions;
  filter: FilterOptions;
  /** Key SET on the source every second to measure the end-to-end delay (empty = off). */
  syncDelayTestKey: string;
  /** Where the probe key is SET when the input is a replica (a cluster shard's master). @default input */
  probeEndpoint?: RedisEndpoint | undefined;
  /** Wait between reconnect attempts (GunYu: 2 s). */
  reconnectBackoffMs: number;
  /** Ask for diskless transfer with `capa eof`. */
  capaEof: boolean;
  /** Transaction mode (replayTransaction where the pair of sides allows it). */
  transaction: boolean;
  /**
   * Cluster → cluster: decides transaction mode at each session start (identical, stable layouts);
   * overrides `transaction`.
   */
  transactionMode?: (() => Promise<boolean>) | undefined;
  /** A source shard's slot ranges: its fencing lease key is placed in them (the batch script reads it). */
  shardSlots?: readonly (readonly [number, number])[] | undefined;
  /** Longest graceful drain on pause/stop before connections are closed. @default 5000 */
  drainTimeoutMs?: number;
  /**
   * The spool between the source and the replay: memory up to `memoryBytes`, then spill files in
   * `<directory>/<input>` (directory default `$TMPDIR/redis-gunyu`; the input's sub-directory is
   * cleared at each session start).
   */
  spool?: Partial<SpillingSpoolOptions>;
  /** The fencing lease in the target (cluster.leaseTimeout / leaseRenewInterval). @default 10 s / 3 s */
  fencing?: LeaseTiming;
  /** Time for the reconnect back-off and the batch ticker (tests may drive it). @default SYSTEM_CLOCK */
  clock?: Clock;
}
