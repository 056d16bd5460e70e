import { isValidAddress } from '../core/address';
import {
  type BucketTable,
  type ClusterType,
  createBucketTable,
  isNewerTable,
  NO_MIGRATING_BUCKET,
  replaceServer,
  scaleDownTable,
  scaleUpTable,
} from '../core/bucket-table';
import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';
import { FailoverVotes } from './failover-votes';
import type { ConfigServerState, ConfigStateStore, MigrationJobRecord } from './state-store';

export type ProxyState = 'ONLINE' | 'OFFLINE' | 'MIGRATING';

export interface ProxyInfo {
  info: string;
  state: ProxyState;
}

export interface ConfigServerOptions {
  store: ConfigStateStore;
  /** A slave ConfigServer refuses every write with 1004 "not a master". @default true */
  isMaster?: boolean;
  /** Initial `support_ha` when the store is empty. @default false */
  supportHa?: boolean;
  /** The `cluster_type` reported by `get_config` when no namespace is named. @default 'data_store' */
  defaultClusterType?: ClusterType;
  /** A proxy that has not polled for this long is OFFLINE. @default 30000 */
  proxyTimeoutMs?: number;
  /** Injected clock (tests). @default Date.now */
  now?: () => number;
  /**
   * Makes a replica a master (`REPLICAOF NO ONE`) and resolves once it acknowledged. A data_store
   * failover calls it **before** it publishes the table naming the replica, so no proxy ever sends a
   * write to a node that still answers READONLY. @default resolves at once (no promotion)
   */
  promoteReplica?: (address: string) => Promise<void>;
}

export const DEFAULT_CONFIG_SERVER_OPTIONS = {
  isMaster: true,
  supportHa: false,
  defaultClusterType: 'data_store' as ClusterType,
  proxyTimeoutMs: 30_000,
  promoteReplica: async (_address: string): Promise<void> => undefined,
};

interface Waiter {
  knownVersion: number;
  /** undefined: a poller that does not send an epoch gets any table whose version differs. */
  knownEpoch: number | undefined;
  resolve: (table: BucketTable | undefined) => void;
}

interface ProxyRecord {
  lastSeen: number;
  /** The table version the proxy said it holds on its last poll. */
  version: number;
}

/** Whether a long-poller should get `table` now. */
function wanted(table: BucketTable, waiter: Waiter): boolean {
  if (waiter.knownEpoch === undefined) return table.version !== waiter.knownVersion;
  return isNewerTable(table, { epoch: waiter.knownEpoch, version: waiter.knownVersion });
}

/**
 * The ConfigServer's engine: one bucket table per namespace, persisted before it is published,
 * handed to proxies that long-poll for a version other than the one they hold.
 */
export class ConfigServer {
  private readonly options: Required<Omit<ConfigServerOptions, 'store'>> & { store: ConfigStateStore };
  private readonly tables = new Map<string, BucketTable>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly proxies = new Map<string, Map<string, ProxyRecord>>();
  private supportHaValue: boolean;
  private isMasterValue: boolean;
  /** `host:port` of the current master ConfigServer ('' when unknown); named in 1004 answers. */
  private masterAddressValue = '';
  /** The last namespace epoch handed out: epochs keep rising even if the clock steps back. */
  private lastEpoch = 0;
  /** namespace → its in-flight migration job (persisted with the tables). */
  private readonly migrations = new Map<string, MigrationJobRecord>();
  private readonly votes: FailoverVotes;
  // Writes run one at a time so each persisted state contains every earlier change.
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(options: ConfigServerOptions) {
    this.options = { ...DEFAULT_CONFIG_SERVER_OPTIONS, now: Date.now, ...options };
    this.supportHaValue = this.options.supportHa;
    this.isMasterValue = this.options.isMaster;
    this.votes = new FailoverVotes(this, this.options.promoteReplica);
  }

  /** Loads the stored state; a corrupt store fails loudly instead of starting empty. */
  static async open(options: ConfigServerOptions): Promise<ConfigServer> {
    const server = new ConfigServer(options);
    const state = await options.store.load();
    if (state) server.applyState(state);
    return server;
  }

  get isMaster(): boolean {
    return this.isMasterValue;
  }

  /** The master ConfigServer's address as far as this one knows ('' when unknown). */
  get masterAddress(): string {
    return this.masterAddressValue;
  }

  /** Switches between master and slave (election, promotion); `masterAddress` is who is master now. */
  setRole(isMaster: boolean, masterAddress: string): void {
    this.isMasterValue = isMaster;
    this.masterAddressValue = masterAddress;
  }

  /** The whole state as it would be saved (replication to a slave ConfigServer). */
  snapshot(): ConfigServerState {
    return {
      supportHa: this.supportHaValue,
      tables: [...this.tables.values()],
      migrations: this.migrationJobs(),
    };
  }

  /**
   * Replaces the in-memory state with one written by the master (etcd watch, replication stream)
   * and publishes every namespace that changed. Tables are taken as they are: the store is the truth.
   */
  applyState(state: ConfigServerState): void {
    this.supportHaValue = state.supportHa;
    const seen = new Set<string>();
    for (const table of state.tables) {
      seen.add(table.namespace);
      this.lastEpoch = Math.max(this.lastEpoch, table.epoch);
      const previous = this.tables.get(table.namespace);
      this.tables.set(table.namespace, table);
      if (!previous || previous.epoch !== table.epoch || previous.version !== table.version) {
        this.publish(table.namespace, table);
      }
    }
    for (const namespace of [...this.tables.keys()]) {
      if (seen.has(namespace)) continue;
      this.tables.delete(namespace);
      this.publish(namespace, undefined);
    }
    this.migrations.clear();
    for (const job of state.migrations ?? []) this.migrations.set(job.namespace, job);
  }

  get supportHa(): boolean {
    return this.supportHaValue;
  }

  namespaceList(): string[] {
    return [...this.tables.keys()].sort();
  }

  getTable(namespace: string): BucketTable {
    const table = this.tables.get(namespace);
    if (!table)
      throw new KvstoreError(KVSTORE_ERROR_CODES.NO_SUCH_NAMESPACE, `no such namespace: ${namespace}`);
    return table;
  }

  clusterTypeOf(namespace?: string): ClusterType {
    return namespace === undefined ? this.options.defaultClusterType : this.getTable(namespace).clusterType;
  }

  initTable(
    namespace: string,
    bucketCount: number,
    addresses: readonly string[],
    clusterType: ClusterType = 'data_store',
  ): Promise<BucketTable> {
    return this.write(() => {
      if (this.tables.has(namespace)) {
        throw new KvstoreError(KVSTORE_ERROR_CODES.INIT_FAILED, `namespace ${namespace} already exists`);
      }
      const epoch = Math.max(this.options.now(), this.lastEpoch + 1);
      const table = createBucketTable(namespace, bucketCount, addresses, clusterType, epoch);
      this.lastEpoch = epoch;
      for (const address of addresses) this.assertUnused(address, namespace, KVSTORE_ERROR_CODES.INIT_FAILED);
      return table;
    });
  }

  deleteNamespace(namespace: string): Promise<void> {
    return this.write(() => {
      this.getTable(namespace);
      return null;
    }, namespace).then(() => undefined);
  }

  replaceServer(namespace: string, oldAddress: string, newAddress: string): Promise<BucketTable> {
    return this.write(() => {
      const table = this.getTable(namespace);
      if (isValidAddress(newAddress) && !table.owners.includes(newAddress)) {
        this.assertUnused(newAddress, namespace, KVSTORE_ERROR_CODES.REPLACE_FAILED);
      }
      return replaceServer(table, oldAddress, newAddress);
    });
  }

  scaleCacheCluster(namespace: string, action: string, address: string): Promise<BucketTable> {
    return this.write(() => {
      const table = this.getTable(namespace);
      if (table.clusterType !== 'cache') {
        throw new KvstoreError(KVSTORE_ERROR_CODES.WRONG_CLUSTER_TYPE, 'not match the cluster type');
      }
      if (!isValidAddress(address)) {
        throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_ADDRESS, `not a valid addr: ${address}`);
      }
      if (action === 'add') {
        this.assertUnused(address, namespace, KVSTORE_ERROR_CODES.SCALE_FAILED);
        return scaleUpTable(table, address);
      }
      if (action === 'del') return scaleDownTable(table, address);
      throw new KvstoreError(KVSTORE_ERROR_CODES.INVALID_ACTION, `not a valid action: ${action}`);
    });
  }

  /** Applies any table transformation (used by the migration and HA paths). */
  updateTable(namespace: string, change: (table: BucketTable) => BucketTable): Promise<BucketTable> {
    return this.write(() => change(this.getTable(namespace)));
  }

  /** The migration jobs that were in flight when the state was last saved (resumed at start). */
  migrationJobs(): MigrationJobRecord[] {
    return [...this.migrations.values()].filter((job) => this.tables.has(job.namespace));
  }

  /** Persists a migration job's progress, or drops it (`buckets` empty) once it has ended. */
  saveMigrationJob(job: MigrationJobRecord): Promise<void> {
    const run = this.queue.then(async () => {
      const previous = this.migrations.get(job.namespace);
      if (job.buckets.length === 0) this.migrations.delete(job.namespace);
      else this.migrations.set(job.namespace, { ...job, buckets: [...job.buckets] });
      try {
        await this.persist();
      } catch (error) {
        if (previous) this.migrations.set(job.namespace, previous);
        else this.migrations.delete(job.namespace);
        throw error;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  setSupportHa(value: boolean): Promise<void> {
    this.assertMaster();
    const run = this.queue.then(async () => {
      const previous = this.supportHaValue;
      this.supportHaValue = value;
      try {
        await this.persist();
      } catch (error) {
        this.supportHaValue = previous;
        throw error;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Records a proxy's poll (registration and heartbeat are the same thing). */
  touchProxy(namespace: string, info: string, version = 0): void {
    let records = this.proxies.get(namespace);
    if (!records) {
      records = new Map();
      this.proxies.set(namespace, records);
    }
    records.set(info, { lastSeen: this.options.now(), version });
  }

  /**
   * True once every ONLINE proxy of the namespace has polled holding at least `version`: no proxy
   * routes with an older table any more (the original's freeze/ack barrier, done with the polls).
   */
  proxiesAt(namespace: string, version: number): boolean {
    const now = this.options.now();
    for (const record of this.proxies.get(namespace)?.values() ?? []) {
      if (now - record.lastSeen <= this.options.proxyTimeoutMs && record.version < version) return false;
    }
    return true;
  }

  proxyInfo(namespace: string): ProxyInfo[] {
    const table = this.getTable(namespace);
    const now = this.options.now();
    const online: ProxyState = table.migratingBucketId === NO_MIGRATING_BUCKET ? 'ONLINE' : 'MIGRATING';
    return [...(this.proxies.get(namespace) ?? new Map<string, ProxyRecord>())]
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
      .map(([info, record]) => ({
        info,
        state: now - record.lastSeen > this.options.proxyTimeoutMs ? 'OFFLINE' : online,
      }));
  }

  /** A proxy's view of one backend; see FailoverVotes (every online proxy must agree). */
  reportRedisState(
    namespace: string,
    proxy: string,
    address: string,
    state: 'down' | 'up',
    replicaAddress = '',
  ): Promise<'none' | 'replaced' | 'removed'> {
    return this.votes.report(namespace, proxy, address, state, replicaAddress);
  }

  /**
   * Resolves with the namespace's table as soon as it is newer than the poller's (a later epoch, or
   * the same epoch and a higher version; without `knownEpoch`, any other version), at once if it
   * already is, or with undefined after `timeoutMs` or on close. A poller that holds a newer table
   * than this ConfigServer (a stale one) is held, never answered with the older table.
   * A deleted namespace rejects with NO_SUCH_NAMESPACE.
   */
  waitForTable(
    namespace: string,
    knownVersion: number,
    timeoutMs: number,
    knownEpoch?: number,
  ): Promise<BucketTable | undefined> {
    const table = this.getTable(namespace);
    const waiter: Waiter = { knownVersion, knownEpoch, resolve: () => undefined };
    if (wanted(table, waiter)) return Promise.resolve(table);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(namespace);
      if (!set) {
        set = new Set();
        this.waiters.set(namespace, set);
      }
      waiter.resolve = (next) => {
        clearTimeout(timer);
        set.delete(waiter);
        if (next === undefined && !this.closed && !this.tables.has(namespace)) {
          reject(new KvstoreError(KVSTORE_ERROR_CODES.NO_SUCH_NAMESPACE, `no such namespace: ${namespace}`));
        } else resolve(next);
      };
      const timer = setTimeout(() => waiter.resolve(undefined), timeoutMs);
      set.add(waiter);
    });
  }

  /** Releases every long-poll (graceful shutdown). */
  close(): void {
    this.closed = true;
    for (const set of this.waiters.values()) for (const waiter of [...set]) waiter.resolve(undefined);
  }

  private assertMaster(): void {
    if (!this.isMasterValue) {
      const master = this.masterAddressValue ? `, master is ${this.masterAddressValue}` : '';
      throw new KvstoreError(KVSTORE_ERROR_CODES.NOT_MASTER, `not a master${master}`);
    }
  }

  private assertUnused(address: string, namespace: string, code: KvstoreError['code']): void {
    for (const [other, table] of this.tables) {
      if (other !== namespace && table.owners.includes(address)) {
        throw new KvstoreError(code, `${address} already belongs to namespace ${other}`);
      }
    }
  }

  /** Runs one change: compute, persist, then publish; a failed save leaves memory unchanged. */
  private write(compute: () => BucketTable | null, deleting?: string): Promise<BucketTable> {
    this.assertMaster();
    const run = this.queue.then(async () => {
      const next = compute();
      const namespace = next?.namespace ?? deleting!;
      const previous = this.tables.get(namespace);
      if (next) this.tables.set(namespace, next);
      else this.tables.delete(namespace);
      try {
        await this.persist();
      } catch (error) {
        if (previous) this.tables.set(namespace, previous);
        else this.tables.delete(namespace);
        throw error;
      }
      this.publish(namespace, next ?? undefined);
      return (next ?? previous)!;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private persist(): Promise<void> {
    return this.options.store.save(this.snapshot());
  }

  private publish(namespace: string, table: BucketTable | undefined): void {
    const set = this.waiters.get(namespace);
    if (!set) return;
    for (const waiter of [...set]) if (!table || wanted(table, waiter)) waiter.resolve(table);
    if (!table) {
      this.waiters.delete(namespace);
      this.proxies.delete(namespace);
    }
  }
}
