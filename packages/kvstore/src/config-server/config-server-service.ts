import { type Logger, SILENT_LOGGER } from '@kvforge/runtime';
import type { ConfigServerPluginOptions } from '../http/config-server-plugin';
import { promoteReplica } from '../proxy/redis-monitor';
import { BucketMigrator, type BucketMigratorOptions } from './bucket-migrator';
import { ConfigServer, type ConfigServerOptions } from './config-server';
import { EtcdLeadership } from './etcd-leadership';
import { EtcdStateStore } from './etcd-state-store';
import { ReplicationFollower, ReplicationSource } from './file-replication';
import { type ConfigStateStore, FileStateStore } from './state-store';

/** Where the ConfigServer keeps its state: a file in `dataDir` (single machine) or etcd. */
export type StateStoreChoice =
  | {
      kind: 'file';
      dataDir: string;
      /**
       * The other ConfigServer of a file-store pair. A slave follows its state (replication stream);
       * a node started as master that finds this peer already master starts as its slave instead.
       */
      peer?: string;
      /** Follower long-poll length. @default 10000 */
      replicationWaitMs?: number;
    }
  | {
      kind: 'etcd';
      endpoints: readonly string[];
      /** Master lease of the ConfigServers sharing this etcd (see EtcdLeadership). @default 5 */
      electionTtlSeconds?: number;
    }
  | { kind: 'custom'; store: ConfigStateStore };

export interface ConfigServerServiceOptions extends Omit<ConfigServerOptions, 'store'> {
  store: StateStoreChoice;
  /** Online-migration settings (redisPassword, batchSize, …). */
  migration?: BucketMigratorOptions;
  /** Longest proxy long-poll. @default 30000 */
  maxWatchMs?: number;
  logger?: Logger;
}

function openStore(choice: StateStoreChoice): ConfigStateStore {
  switch (choice.kind) {
    case 'file':
      return new ReplicationSource(new FileStateStore(choice.dataDir));
    case 'etcd':
      return new EtcdStateStore({ endpoints: [...choice.endpoints] });
    case 'custom':
      return choice.store;
  }
}

/**
 * A whole ConfigServer as deployed: its state store, the engine, the online migrator, and the
 * resumption of a migration the previous run left in flight. The app mounts `configServerPlugin`
 * with `httpPluginOptions` and calls `resumeMigrations()` once it listens.
 */
export class ConfigServerService {
  private constructor(
    readonly configServer: ConfigServer,
    readonly migrator: BucketMigrator,
    private readonly store: ConfigStateStore,
    private readonly maxWatchMs: number | undefined,
    private readonly logger: Logger,
    private readonly electionTtlSeconds: number | undefined,
    private readonly filePeer: { peer?: string; replicationWaitMs?: number; wantsMaster?: boolean },
  ) {}

  private leadership: EtcdLeadership | undefined;
  private follower: ReplicationFollower | undefined;
  private selfAddress = '';

  static async open(options: ConfigServerServiceOptions): Promise<ConfigServerService> {
    const { store: choice, migration, maxWatchMs, logger, ...serverOptions } = options;
    const store = openStore(choice);
    try {
      const password = migration?.redisPassword ?? '';
      // A node of a file pair serves as slave (1004) until start() has asked its peer who is master.
      const wantsMaster = serverOptions.isMaster ?? true;
      const paired = choice.kind === 'file' && choice.peer !== undefined;
      const configServer = await ConfigServer.open({
        promoteReplica: async (address) => {
          await promoteReplica(address, password);
        },
        ...serverOptions,
        ...(paired ? { isMaster: false } : {}),
        store,
      });
      const migrator = new BucketMigrator(configServer, migration);
      return new ConfigServerService(
        configServer,
        migrator,
        store,
        maxWatchMs,
        logger ?? SILENT_LOGGER,
        choice.kind === 'etcd' ? choice.electionTtlSeconds : undefined,
        choice.kind === 'file' ? { ...choice, wantsMaster } : {},
      );
    } catch (error) {
      await store.close?.();
      throw error;
    }
  }

  get httpPluginOptions(): ConfigServerPluginOptions {
    return {
      configServer: this.configServer,
      migrator: this.migrator,
      ...(this.store instanceof ReplicationSource
        ? { replication: { source: this.store, promote: () => this.promote() } }
        : {}),
      ...(this.maxWatchMs === undefined ? {} : { maxWatchMs: this.maxWatchMs }),
    };
  }

  /** Continues migrations persisted by the previous run (a slave resumes nothing). */
  resumeMigrations(): void {
    for (const job of this.migrator.resume()) {
      this.logger.info({ namespace: job.namespace, remaining: job.remaining_buckets }, 'migration resumed');
    }
  }

  /**
   * Call once the HTTP server listens, with the address other nodes and proxies reach it at.
   * File store: resumes migrations. etcd store: every ConfigServer on the etcd watches the state key
   * and serves what the master writes; they elect one master with a lease, which alone accepts
   * writes (fenced on its election key) and resumes migrations; the others answer 1004 naming it.
   */
  async start(advertiseAddress: string): Promise<void> {
    const store = this.store;
    this.selfAddress = advertiseAddress;
    if (store instanceof ReplicationSource) {
      await this.startFilePair(store);
      return;
    }
    if (!(store instanceof EtcdStateStore)) {
      this.resumeMigrations();
      return;
    }
    const server = this.configServer;
    server.setRole(false, '');
    await store.watch(
      (state) => {
        if (!server.isMaster) server.applyState(state);
      },
      (error) => this.logger.warn({ error: (error as Error).message }, 'etcd watch'),
    );
    this.leadership = new EtcdLeadership({
      client: store.client,
      self: advertiseAddress,
      ...(this.electionTtlSeconds === undefined ? {} : { ttlSeconds: this.electionTtlSeconds }),
      logger: this.logger,
      onRole: async (isMaster, master, campaignKey) => {
        if (!isMaster) {
          server.setRole(false, master);
          this.logger.info({ master }, 'config server is a slave');
          return;
        }
        // Writes are fenced on the election key; the state is re-read so the new master starts
        // from the latest one its CAS will be checked against.
        store.setFence(campaignKey);
        const state = await store.load();
        if (state) server.applyState(state);
        server.setRole(true, master);
        this.logger.info({ namespaces: server.namespaceList() }, 'config server is master');
        this.resumeMigrations();
      },
    });
    await this.leadership.start();
  }

  /**
   * File-store pair: a master whose peer already is master starts as its slave (never two masters
   * after the old master restarts); a slave follows the peer's snapshots.
   */
  private async startFilePair(store: ReplicationSource): Promise<void> {
    const server = this.configServer;
    const peer = this.filePeer.peer;
    let master = server.isMaster;
    if (peer !== undefined && this.filePeer.wantsMaster) {
      master = !(await peerIsMaster(peer));
      if (!master) this.logger.warn({ peer }, 'the peer ConfigServer is master: starting as its slave');
    }
    if (master) {
      server.setRole(true, this.selfAddress);
      this.resumeMigrations();
      return;
    }
    if (peer === undefined) return; // a slave without a master to follow only refuses writes
    server.setRole(false, peer);
    this.follower = new ReplicationFollower({
      server,
      store,
      master: peer,
      logger: this.logger,
      ...(this.filePeer.replicationWaitMs === undefined ? {} : { waitMs: this.filePeer.replicationWaitMs }),
    });
    this.follower.start();
  }

  /**
   * Makes a file-store slave the master (`set_config {"is_master":true}`): replication stops first,
   * so no snapshot of the old master is applied after the first write of the new one.
   */
  async promote(): Promise<void> {
    if (this.configServer.isMaster) return;
    await this.follower?.stop();
    this.follower = undefined;
    this.configServer.setRole(true, this.selfAddress);
    this.logger.info({ namespaces: this.configServer.namespaceList() }, 'config server promoted to master');
    this.resumeMigrations();
  }

  /** Ends pending long-polls and closes the store (call after the HTTP server closed). */
  async stop(): Promise<void> {
    await this.follower?.stop();
    await this.leadership?.stop();
    this.configServer.close();
    await this.store.close?.();
  }
}

/** Whether the peer answers `get_config` as a master (unreachable: no). */
async function peerIsMaster(peer: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${peer}/kvstore/cs/get_config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(3_000),
    });
    return ((await response.json()) as { is_master?: unknown }).is_master === true;
  } catch {
    return false;
  }
}
