import { type Logger, SILENT_LOGGER } from '@kvforge/runtime';
import type { ConfigServerPluginOptions } from '../http/config-server-plugin';
import { promoteReplica } from '../proxy/redis-monitor';
import { BucketMigrator, type BucketMigratorOptions } from './bucket-migrator';
import { ConfigServer, type ConfigServerOptions } from './config-server';
import { EtcdLeadership } from './etcd-leadership';
import { EtcdStateStore } from './etcd-state-store';
import { type ConfigStateStore, FileStateStore } from './state-store';

/** Where the ConfigServer keeps its state: a file in `dataDir` (single machine) or etcd. */
export type StateStoreChoice =
  | { kind: 'file'; dataDir: string }
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
      return new FileStateStore(choice.dataDir);
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
  ) {}

  private leadership: EtcdLeadership | undefined;

  static async open(options: ConfigServerServiceOptions): Promise<ConfigServerService> {
    const { store: choice, migration, maxWatchMs, logger, ...serverOptions } = options;
    const store = openStore(choice);
    try {
      const password = migration?.redisPassword ?? '';
      const configServer = await ConfigServer.open({
        promoteReplica: async (address) => {
          await promoteReplica(address, password);
        },
        ...serverOptions,
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

  /** Ends pending long-polls and closes the store (call after the HTTP server closed). */
  async stop(): Promise<void> {
    await this.leadership?.stop();
    this.configServer.close();
    await this.store.close?.();
  }
}
