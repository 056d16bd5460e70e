import { AbortedError, type Clock, SYSTEM_CLOCK, sleep } from '@kvforge/runtime';
import {
  type BucketTable,
  type BucketTableJson,
  bucketTableFromJson,
  type ClusterType,
  isNewerTable,
  type TableStamp,
} from '../core/bucket-table';

export interface ConfigServerClientOptions {
  namespace: string;
  /** `host:port` of the master ConfigServer. */
  master: string;
  /** `host:port` of a slave ConfigServer, tried when the master does not answer. */
  slave?: string;
  /** Every other ConfigServer of the group; polls go round them until one answers, then follow its master. */
  others?: readonly string[];
  /** How this proxy is listed by `proxy_info` (its RESP `ip:port`). */
  proxyInfo: string;
  /** How long the ConfigServer may hold a poll. @default 20000 */
  watchMs?: number;
  /** Pause after a failed poll. @default 1000 */
  retryMs?: number;
  /**
   * Installs a newer table. The next watch_table (which acknowledges the version to the ConfigServer)
   * waits for the returned promise: an ack means the table is installed, not merely received.
   */
  onTable: (table: BucketTable) => void | Promise<void>;
  onError?: (error: unknown, server: string) => void;
  /** Times the pause after a failed poll. @default SYSTEM_CLOCK */
  clock?: Clock;
}

export const DEFAULT_CONFIG_SERVER_CLIENT_OPTIONS = { watchMs: 20_000, retryMs: 1000, clock: SYSTEM_CLOCK };

interface WatchReply extends Partial<BucketTableJson> {
  code: number;
  msg: string;
  changed?: boolean;
  cluster_type?: ClusterType;
  is_master?: boolean;
  master?: string;
}

function uniqueServers(master: string, slave: string | undefined, others: readonly string[]): string[] {
  return [...new Set([master, ...(slave ? [slave] : []), ...others])];
}

/**
 * Keeps the proxy's table current by long-polling `/kvstore/cs/watch_table`: the ConfigServer answers
 * at once when its version differs from ours, else holds the request; each poll is also the heartbeat.
 * A failed poll falls back to the slave ConfigServer, then back to the master.
 */
export class ConfigServerClient {
  /** The epoch and version of the table last handed to onTable: only strictly newer ones follow. */
  private held: TableStamp = { epoch: 0, version: 0 };
  private running = false;
  private controller: AbortController | undefined;
  /** Aborted by stop(): ends the pause between failed polls at once. */
  private lifetime = new AbortController();
  private servers: string[];
  private current = 0;
  /**
   * The ConfigServer whose last poll was answered; undefined while none is. Only a failure of that
   * same server clears it: a slave that points at a dead master keeps answering between the failed
   * polls of the master, and the client is connected all along.
   */
  private answeredBy: string | undefined;
  /** The ConfigServer the current (or last) poll went to. */
  private polled: string | undefined;
  /** set_config aborted the poll: the next one goes to the new master, not to the next server. */
  private repointed = false;
  private readonly options: Required<Omit<ConfigServerClientOptions, 'slave' | 'onError' | 'others'>> &
    Pick<ConfigServerClientOptions, 'onError'>;

  constructor(options: ConfigServerClientOptions) {
    this.options = { ...DEFAULT_CONFIG_SERVER_CLIENT_OPTIONS, ...options };
    this.servers = uniqueServers(options.master, options.slave, options.others ?? []);
  }

  get knownVersion(): number {
    return this.held.version;
  }

  get knownEpoch(): number {
    return this.held.epoch;
  }

  /** Whether a ConfigServer answers this client's polls (changed table or not); `/health` reports it. */
  get connected(): boolean {
    return this.answeredBy !== undefined;
  }

  /** The ConfigServer the next poll or report goes to. */
  get server(): string {
    return this.servers[this.current]!;
  }

  /** Every ConfigServer this client knows, the one in use included. */
  get knownServers(): readonly string[] {
    return this.servers;
  }

  /** Changes the ConfigServer addresses (set_config master_cs_* / slave_cs_*); the next poll uses them. */
  setServers(master: string, slave: string | undefined): void {
    const others = this.servers.filter((server) => server !== master && server !== slave);
    this.servers = uniqueServers(master, slave, others);
    this.current = 0;
    this.repointed = true;
    this.controller?.abort();
  }

  /** Sets how this proxy is listed (known only once it listens, when it picked a free port). */
  setProxyInfo(proxyInfo: string): void {
    this.options.proxyInfo = proxyInfo;
  }

  /** Tells the ConfigServer that this proxy cannot reach `address` (or can again). */
  async reportRedisState(address: string, state: 'down' | 'up', replicaAddress: string): Promise<string> {
    const response = await fetch(`http://${this.server}/kvstore/cs/report_redis_state`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        namespace: this.options.namespace,
        proxy: this.options.proxyInfo,
        addr: address,
        state,
        slave_addr: replicaAddress,
      }),
      signal: AbortSignal.timeout(5000),
    });
    const reply = (await response.json()) as { code: number; msg: string; action?: string };
    if (reply.code !== 1001) throw new Error(`report_redis_state: ${reply.code} ${reply.msg}`);
    return reply.action ?? 'none';
  }

  /** Fetches the current table once (startup); throws when no ConfigServer has it. */
  async fetchInitial(): Promise<BucketTable> {
    const table = await this.poll(0, 0);
    if (!table) throw new Error(`ConfigServer has no table for namespace ${this.options.namespace}`);
    return table;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lifetime = new AbortController();
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.lifetime.abort();
    this.controller?.abort();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        await this.poll(this.held.version, this.options.watchMs);
      } catch (error) {
        if (!this.running) break;
        if (this.answeredBy === this.polled) this.answeredBy = undefined;
        this.options.onError?.(error, this.server);
        if (this.repointed) this.repointed = false;
        else this.current = (this.current + 1) % this.servers.length;
        try {
          await sleep(this.options.retryMs, { clock: this.options.clock, signal: this.lifetime.signal });
        } catch (sleepError) {
          if (!(sleepError instanceof AbortedError)) throw sleepError;
        }
      }
    }
  }

  /** A slave that names its master sends the next poll there; one that knows none, to the next server. */
  private follow(reply: WatchReply): void {
    if (reply.is_master !== false) return;
    if (reply.master) {
      if (!this.servers.includes(reply.master)) this.servers.push(reply.master);
      this.current = this.servers.indexOf(reply.master);
    } else if (this.servers.length > 1) {
      this.current = (this.current + 1) % this.servers.length;
    }
  }

  private async poll(version: number, waitMs: number): Promise<BucketTable | undefined> {
    const controller = new AbortController();
    this.controller = controller;
    const timer = setTimeout(() => controller.abort(), waitMs + 10_000);
    const server = this.server;
    this.polled = server;
    try {
      const response = await fetch(`http://${server}/kvstore/cs/watch_table`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          namespace: this.options.namespace,
          version,
          epoch: this.held.epoch,
          proxy: this.options.proxyInfo,
          wait_ms: waitMs,
        }),
        signal: controller.signal,
      });
      const reply = (await response.json()) as WatchReply;
      if (reply.code === 1001) this.answeredBy = server;
      // A deleted namespace keeps our stamp: a re-created one has a larger epoch and is taken anyway.
      if (reply.code !== 1001) throw new Error(`watch_table: ${reply.code} ${reply.msg}`);
      this.follow(reply);
      if (!reply.changed || reply.table === undefined || reply.version === undefined) return undefined;
      const stamp = { epoch: reply.epoch ?? 0, version: reply.version };
      // Never back in time: a stale ConfigServer's older table is ignored.
      if (!isNewerTable(stamp, this.held)) return undefined;
      const table = bucketTableFromJson(this.options.namespace, reply.cluster_type ?? 'data_store', {
        table: reply.table,
        epoch: stamp.epoch,
        version: reply.version,
        migrating_bucket_id: reply.migrating_bucket_id!,
        migrating_server_addr: reply.migrating_server_addr!,
        ...(reply.migrating_big_keys ? { migrating_big_keys: reply.migrating_big_keys } : {}),
      });
      this.held = stamp;
      await this.options.onTable(table);
      return table;
    } finally {
      clearTimeout(timer);
    }
  }
}
