import { type Clock, SYSTEM_CLOCK, sleep } from '@kvforge/runtime';
import { Redis, ReplyError } from 'ioredis';
import { parseAddress } from '../core/address';

export interface RedisMonitorOptions {
  /** Seconds between probes. @default 3 (the original's) */
  intervalSeconds?: number;
  /** Connect/read timeout of one probe in ms. @default 1000 */
  probeTimeoutMs?: number;
  /** Current `redis_down_timeout` (s); read at every probe so set_config applies at once. */
  downTimeoutSeconds: () => number;
  password: () => string;
  /** Called once when an address has failed for `redis_down_timeout`, and once when it answers again. */
  onStateChange: (address: string, state: 'down' | 'up', replicaAddress: string) => void;
  /** Times the pause between probe rounds. @default SYSTEM_CLOCK */
  clock?: Clock;
}

/** A short-lived admin connection (the original probed on a new connection every time). */
async function withConnection<T>(
  address: string,
  password: string,
  timeoutMs: number,
  action: (client: Redis) => Promise<T>,
): Promise<T> {
  const target = parseAddress(address)!;
  const client = new Redis({
    host: target.host,
    port: target.port,
    ...(password.length > 0 ? { password } : {}),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await action(client);
  } finally {
    client.disconnect();
  }
}

/** Any reply counts as alive, even an error such as -LOADING; only no answer is a failure. */
async function probe(address: string, password: string, timeoutMs: number): Promise<string> {
  return withConnection(address, password, timeoutMs, async (client) => {
    try {
      return await client.info('replication');
    } catch (error) {
      if (error instanceof ReplyError) return '';
      throw error;
    }
  });
}

/** Promotes a replica picked by the ConfigServer: `REPLICAOF NO ONE` (the original sent SLAVEOF NO ONE). */
export function promoteReplica(address: string, password: string, timeoutMs = 2000): Promise<unknown> {
  return withConnection(address, password, timeoutMs, (client) => client.call('REPLICAOF', 'NO', 'ONE'));
}

/** `slave0:ip=10.0.0.2,port=6379,state=online,…` → `10.0.0.2:6379` (the first online replica). */
export function replicaFromInfo(info: string): string {
  for (const match of info.matchAll(/slave\d+:ip=([^,\s]+),port=(\d+),state=(\w+)/g)) {
    if (match[3] === 'online') return `${match[1]}:${match[2]}`;
  }
  return '';
}

interface Watched {
  failures: number;
  down: boolean;
  replica: string;
}

/**
 * The original's monitor: probe every backend on a fresh connection every 3 s; after
 * `redis_down_timeout` of consecutive failures report it down (with the replica seen in its last
 * `INFO replication`), report it up when it answers again.
 */
export class RedisMonitor {
  private readonly watched = new Map<string, Watched>();
  private running: AbortController | undefined;
  private readonly options: Required<RedisMonitorOptions>;

  constructor(options: RedisMonitorOptions) {
    this.options = { intervalSeconds: 3, probeTimeoutMs: 1000, clock: SYSTEM_CLOCK, ...options };
  }

  setAddresses(addresses: Iterable<string>): void {
    const wanted = new Set(addresses);
    for (const address of wanted) {
      if (!this.watched.has(address)) this.watched.set(address, { failures: 0, down: false, replica: '' });
    }
    for (const address of this.watched.keys()) if (!wanted.has(address)) this.watched.delete(address);
  }

  isDown(address: string): boolean {
    return this.watched.get(address)?.down ?? false;
  }

  /** The replica last seen in `address`'s INFO replication ('' when none). */
  replicaOf(address: string): string {
    return this.watched.get(address)?.replica ?? '';
  }

  /** The replica last seen for each master that is currently down. */
  downReplicas(): Set<string> {
    const replicas = new Set<string>();
    for (const state of this.watched.values()) if (state.down && state.replica) replicas.add(state.replica);
    return replicas;
  }

  /**
   * Watches the owners of a newly installed table and promotes every address that replaced a dead
   * master it was the replica of (the proxy that sees the change does it, as in the original).
   * Returns the promoted addresses.
   */
  async onTable(previousOwners: ReadonlySet<string>, owners: readonly string[]): Promise<string[]> {
    const replicas = this.downReplicas();
    const promoted: string[] = [];
    for (const address of new Set(owners)) {
      if (previousOwners.has(address) || !replicas.has(address)) continue;
      await promoteReplica(address, this.options.password());
      promoted.push(address);
    }
    this.setAddresses(owners);
    return promoted;
  }

  /** Probes every interval until stop(); a round never overlaps the previous one. */
  start(): void {
    if (this.running) return;
    const running = new AbortController();
    this.running = running;
    void (async () => {
      while (!running.signal.aborted) {
        try {
          await sleep(this.options.intervalSeconds * 1000, {
            clock: this.options.clock,
            signal: running.signal,
          });
        } catch {
          return; // stopped
        }
        await this.probeAll();
      }
    })();
  }

  stop(): void {
    this.running?.abort();
    this.running = undefined;
  }

  async probeAll(): Promise<void> {
    await Promise.all(
      [...this.watched].map(async ([address, state]) => {
        try {
          const info = await probe(address, this.options.password(), this.options.probeTimeoutMs);
          state.failures = 0;
          const replica = replicaFromInfo(info);
          if (replica) state.replica = replica;
          if (state.down) {
            state.down = false;
            this.options.onStateChange(address, 'up', state.replica);
          }
        } catch {
          state.failures++;
          const limit = Math.max(
            1,
            Math.floor(this.options.downTimeoutSeconds() / this.options.intervalSeconds),
          );
          if (!state.down && state.failures >= limit) {
            state.down = true;
            this.options.onStateChange(address, 'down', state.replica);
          }
        }
      }),
    );
  }
}
