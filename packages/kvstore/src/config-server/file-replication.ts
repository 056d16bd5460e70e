import { randomUUID } from 'node:crypto';
import { type Clock, type Logger, SILENT_LOGGER, SYSTEM_CLOCK, sleep } from '@kvforge/runtime';
import { isNewerTable } from '../core/bucket-table';
import type { ConfigServer } from './config-server';
import { type ConfigServerState, type ConfigStateStore, parseState, serializeState } from './state-store';

/** One versioned snapshot of a ConfigServer's state, as the replication stream carries it. */
export interface ReplicationSnapshot {
  /** Random per process: a serial from another run of the source is not comparable. */
  runId: string;
  /** Rises with every save of this run. */
  serial: number;
  state: ConfigServerState;
}

interface Waiter {
  runId: string;
  serial: number;
  resolve: (snapshot: ReplicationSnapshot | undefined) => void;
}

/**
 * Wraps the file store: every successful save becomes the newest snapshot and wakes the followers'
 * long-polls (`replication_snapshot`). Saves are persisted before they are offered, as tables are
 * persisted before they are published.
 */
export class ReplicationSource implements ConfigStateStore {
  readonly runId = randomUUID();
  private serial = 0;
  private latest: ConfigServerState | undefined;
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  constructor(private readonly inner: ConfigStateStore) {}

  async load(): Promise<ConfigServerState | undefined> {
    const state = await this.inner.load();
    this.latest = state;
    return state;
  }

  async save(state: ConfigServerState): Promise<void> {
    await this.inner.save(state);
    this.latest = state;
    this.serial++;
    const snapshot = this.current()!;
    for (const waiter of [...this.waiters]) waiter.resolve(snapshot);
  }

  /** Answers at once when the follower's (runId, serial) is not the current one, else holds up to `timeoutMs`. */
  waitForSnapshot(
    runId: string,
    serial: number,
    timeoutMs: number,
  ): Promise<ReplicationSnapshot | undefined> {
    const snapshot = this.current();
    if (snapshot && (runId !== this.runId || serial < this.serial)) return Promise.resolve(snapshot);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        runId,
        serial,
        resolve: (next) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(next);
        },
      };
      const timer = setTimeout(() => waiter.resolve(undefined), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of [...this.waiters]) waiter.resolve(undefined);
    await this.inner.close?.();
  }

  private current(): ReplicationSnapshot | undefined {
    return this.latest && { runId: this.runId, serial: this.serial, state: this.latest };
  }
}

/** JSON form of a snapshot in the `replication_snapshot` answer. */
export function snapshotToJson(snapshot: ReplicationSnapshot): Record<string, unknown> {
  return {
    run_id: snapshot.runId,
    serial: snapshot.serial,
    state: JSON.parse(serializeState(snapshot.state)) as unknown,
  };
}

/**
 * Never back in time: a snapshot is taken only if none of its tables is older (epoch, version) than
 * the table this node holds for the same namespace. Equal tables pass (support_ha or migration
 * progress changed); a namespace missing from the snapshot was deleted on the master.
 */
export function isStaleSnapshot(snapshot: ConfigServerState, held: ConfigServerState): boolean {
  const heldTables = new Map(held.tables.map((table) => [table.namespace, table]));
  return snapshot.tables.some((table) => {
    const mine = heldTables.get(table.namespace);
    return mine !== undefined && isNewerTable(mine, table);
  });
}

export interface ReplicationFollowerOptions {
  server: ConfigServer;
  /** The node's own store: a followed state is persisted before it is served. */
  store: ConfigStateStore;
  /** `host:port` of the master ConfigServer. */
  master: string;
  /** Long-poll length asked of the master. @default 10000 */
  waitMs?: number;
  /** Pause after a failed poll. @default 500 */
  retryMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/**
 * A file-store slave's replication: long-polls the master's `replication_snapshot`, and for each
 * snapshot that is not older than what it holds, persists it and applies it (which publishes the
 * changed tables to the proxies polling this slave).
 */
export class ReplicationFollower {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private runId = '';
  private serial = -1;
  private readonly logger: Logger;
  /** Snapshots refused as older than the held state (for tests and logs). */
  staleSnapshots = 0;

  constructor(private readonly options: ReplicationFollowerOptions) {
    this.logger = options.logger ?? SILENT_LOGGER;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves once no further snapshot will be applied (promotion, shutdown). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { server, store, master } = this.options;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        const snapshot = await this.poll(signal);
        if (signal.aborted) return;
        if (!snapshot) continue;
        this.runId = snapshot.runId;
        this.serial = snapshot.serial;
        if (isStaleSnapshot(snapshot.state, server.snapshot())) {
          this.staleSnapshots++;
          this.logger.warn({ master }, 'replication: ignored a snapshot older than the held state');
          continue;
        }
        // Applied even if stop() came meanwhile: memory must not lag the file the new master writes over.
        await store.save(snapshot.state);
        server.applyState(snapshot.state);
      } catch (error) {
        if (signal.aborted) return;
        this.logger.debug({ master, error: (error as Error).message }, 'replication poll failed');
        await sleep(this.options.retryMs ?? 500, {
          clock: this.options.clock ?? SYSTEM_CLOCK,
          signal,
        }).catch(() => undefined);
      }
    }
  }

  private async poll(signal: AbortSignal): Promise<ReplicationSnapshot | undefined> {
    const waitMs = this.options.waitMs ?? 10_000;
    const response = await fetch(`http://${this.options.master}/kvstore/cs/replication_snapshot`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ run_id: this.runId, serial: this.serial, wait_ms: waitMs }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(waitMs + 5_000)]),
    });
    const body = (await response.json()) as {
      code?: number;
      changed?: boolean;
      run_id?: string;
      serial?: number;
      state?: unknown;
    };
    if (body.code !== 1001) throw new Error(`replication_snapshot answered ${String(body.code)}`);
    if (!body.changed) return undefined;
    return {
      runId: String(body.run_id),
      serial: Number(body.serial),
      state: parseState(JSON.stringify(body.state), `replication from ${this.options.master}`),
    };
  }
}
