import {
  type Clock,
  formatHostPort,
  type Logger,
  parseHostPort,
  pollUntil,
  SILENT_LOGGER,
  SYSTEM_CLOCK,
} from '@kvforge/runtime';
import type { Registry } from 'prom-client';
import type { BucketTable } from '../core/bucket-table';
import type { ProxyPluginOptions } from '../http/proxy-plugin';
import { ProxyWorkerPool } from './cluster/proxy-worker-pool';
import { mergeStats } from './cluster/worker-protocol';
import { ConfigServerClient } from './config-server-client';
import { KvStoreProxy, type KvStoreProxyOptions } from './kv-store-proxy';
import type { ProxyRuntimeConfig } from './proxy-config';
import { RedisMonitor } from './redis-monitor';

export interface KvStoreProxyServiceOptions {
  namespace: string;
  /** RESP bind address. @default '127.0.0.1' */
  host?: string;
  /** RESP port; 0 picks a free one. */
  port: number;
  /** Password clients must AUTH with; '' = none. */
  password?: string;
  /** `host:port` of the master ConfigServer. */
  configServer: string;
  /** `host:port` of the slave ConfigServer, polled when the master does not answer. */
  slaveConfigServer?: string;
  /** Every other ConfigServer of the group (etcd mode, file pairs): polls follow whichever is master. */
  configServers?: readonly string[];
  /** How proxy_info lists this proxy. @default the RESP listener (0.0.0.0 → 127.0.0.1) */
  advertiseAddress?: string;
  /** Initial set_config values (redis_password, max_qps, …). */
  config?: Partial<ProxyRuntimeConfig>;
  logger?: Logger;
  /** The service's metrics registry, appended to `/metrics` by the HTTP plugin. */
  registry?: Registry;
  clock?: Clock;
  /** How long start() keeps asking for the first table (the original: 10 tries, 500 ms apart). @default 5000 */
  bootstrapTimeoutMs?: number;
  /** @default 500 */
  bootstrapRetryMs?: number;
  /** ConfigServer long-poll and retry timing. */
  watchMs?: number;
  retryMs?: number;
  /** Backend probe timing (the original: every 3 s). */
  monitorIntervalSeconds?: number;
  probeTimeoutMs?: number;
  /** Lower-level proxy options (queue limits). */
  proxy?: Pick<KvStoreProxyOptions, 'maxPendingPerClient' | 'maxQueryBufferBytes'>;
  /**
   * Event loops serving clients. 1 (default): this process serves, exactly as before. N ≥ 2: this
   * process becomes the primary of N node:cluster workers (see ProxyWorkerPool) and serves no client.
   */
  threads?: number;
  /** With threads ≥ 2: the module each worker runs (it calls runProxyWorker). @default process.argv[1] */
  workerScript?: string;
}

export const DEFAULT_KV_STORE_PROXY_SERVICE_OPTIONS = {
  host: '127.0.0.1',
  bootstrapTimeoutMs: 5000,
  bootstrapRetryMs: 500,
};

/**
 * A whole KvStoreProxy as deployed: the RESP proxy, its ConfigServer long-poll (master, falling
 * back to the slave), and HA — backends probed and reported down/up to the ConfigServer, and a
 * replica promoted when a new table names it in place of its dead master. The app, the test
 * fixture and the failover tests all run this one class.
 */
export class KvStoreProxyService {
  readonly proxy: KvStoreProxy;
  readonly configServerClient: ConfigServerClient;
  readonly monitor: RedisMonitor;
  private readonly options: typeof DEFAULT_KV_STORE_PROXY_SERVICE_OPTIONS & KvStoreProxyServiceOptions;
  private readonly logger: Logger;
  private listenAddress: { host: string; port: number } | undefined;
  /** Replicas promoted by this service (in order), for logs and tests. */
  readonly promoted: string[] = [];
  private installs: Promise<void> = Promise.resolve();
  /** The workers of a multi-threaded proxy (undefined with one thread). */
  readonly workers: ProxyWorkerPool | undefined;

  constructor(options: KvStoreProxyServiceOptions) {
    this.options = { ...DEFAULT_KV_STORE_PROXY_SERVICE_OPTIONS, ...options };
    this.logger = options.logger ?? SILENT_LOGGER;
    const clock = options.clock ?? SYSTEM_CLOCK;
    const master = parseHostPort(options.configServer);
    const slave = options.slaveConfigServer ? parseHostPort(options.slaveConfigServer) : undefined;
    const threads = options.threads ?? 1;
    this.proxy = new KvStoreProxy({
      ...options.proxy,
      ...(threads > 1 ? { controlOnly: true } : {}),
      namespace: options.namespace,
      host: this.options.host,
      port: options.port,
      password: options.password ?? '',
      logger: this.logger.child({ component: 'proxy' }),
      config: {
        ...options.config,
        master_cs_ip: master.host,
        master_cs_port: master.port,
        slave_cs_ip: slave?.host ?? '',
        slave_cs_port: slave?.port ?? 0,
      },
    });
    this.monitor = new RedisMonitor({
      clock,
      ...(options.monitorIntervalSeconds === undefined
        ? {}
        : { intervalSeconds: options.monitorIntervalSeconds }),
      ...(options.probeTimeoutMs === undefined ? {} : { probeTimeoutMs: options.probeTimeoutMs }),
      downTimeoutSeconds: () => this.proxy.config.redis_down_timeout,
      password: () => this.proxy.config.redis_password,
      onStateChange: (address, state, replica) => this.report(address, state, replica),
    });
    this.configServerClient = new ConfigServerClient({
      namespace: options.namespace,
      master: options.configServer,
      ...(options.slaveConfigServer ? { slave: options.slaveConfigServer } : {}),
      ...(options.configServers ? { others: options.configServers } : {}),
      // Resolved lazily: with port 0 the advertised port is known only once the proxy listens.
      proxyInfo: '',
      clock,
      ...(options.watchMs === undefined ? {} : { watchMs: options.watchMs }),
      ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
      onTable: (table) => this.onTable(table),
      onError: (error, server) => {
        this.logger.warn({ server, error: (error as Error).message }, 'config server poll failed');
      },
    });
    this.workers =
      threads > 1
        ? new ProxyWorkerPool({
            threads,
            host: this.options.host,
            port: options.port,
            ...(options.workerScript ? { workerScript: options.workerScript } : {}),
            logger: this.logger.child({ component: 'workers' }),
            maxClients: () => this.proxy.config.max_client_num,
            init: () => ({
              namespace: options.namespace,
              password: options.password ?? '',
              config: { ...this.proxy.config },
              patterns: this.proxy.keyRewriter.list(),
              ...options.proxy,
            }),
          })
        : undefined;
  }

  /** Whether the last ConfigServer poll succeeded (`/health`). */
  get configServerConnected(): boolean {
    return this.configServerClient.connected;
  }

  /** The RESP address the proxy listens on (after start). */
  get address(): { host: string; port: number } {
    if (!this.listenAddress) throw new Error('KvStoreProxyService is not started');
    return this.listenAddress;
  }

  /** How proxy_info lists this proxy. */
  get advertisedAddress(): string {
    if (this.options.advertiseAddress) return this.options.advertiseAddress;
    const { host, port } = this.address;
    return formatHostPort({ host: host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host, port });
  }

  /** Options for mounting `proxyPlugin`: stats, set_config (re-points the ConfigServer client), health. */
  get httpPluginOptions(): ProxyPluginOptions {
    const workers = this.workers;
    return {
      proxy: this.proxy,
      ...(this.options.registry ? { registry: this.options.registry } : {}),
      configServerConnected: () => this.configServerClient.connected,
      onConfigChange: (update) => this.onConfigChange(update),
      ...(workers
        ? {
            cluster: {
              collectStats: async () => {
                const answers = await workers.collectStats();
                mergeStats(
                  this.proxy.stats,
                  answers.map((answer) => answer.snapshot),
                  workers.rejectedClients,
                );
                return {
                  clientCount: workers.clientCount,
                  workers: answers.map(({ worker, pid, snapshot }) => ({
                    worker,
                    pid,
                    client_count: snapshot.clientCount,
                    qps: snapshot.qps,
                    total_cmd_count: snapshot.totalCommands,
                    table_version: snapshot.tableVersion,
                    max_qps: snapshot.maxQps,
                  })),
                };
              },
              resetStats: () => workers.resetStats(),
              onPatternChange: (action, pattern) => workers.broadcastPattern(action, pattern),
            },
          }
        : {}),
    };
  }

  /**
   * Listens for RESP, then fetches the first table, retrying until `bootstrapTimeoutMs` (the
   * ConfigServer may start after the proxy). Like the original, a proxy that cannot get its
   * table does not start: the listener is closed again and start() throws.
   */
  async start(): Promise<{ host: string; port: number }> {
    this.listenAddress = this.workers ? await this.workers.start() : await this.proxy.listen();
    this.configServerClient.setProxyInfo(this.advertisedAddress);
    try {
      await pollUntil(
        async () => {
          try {
            return await this.configServerClient.fetchInitial();
          } catch (error) {
            this.logger.info({ error: (error as Error).message }, 'waiting for the bucket table');
            throw error;
          }
        },
        {
          timeoutMs: this.options.bootstrapTimeoutMs,
          intervalMs: this.options.bootstrapRetryMs,
          ...(this.options.clock ? { clock: this.options.clock } : {}),
          description: `the bucket table of ${this.options.namespace}`,
        },
      );
    } catch (error) {
      await this.workers?.stop();
      await this.proxy.close();
      throw new Error(
        `cannot get the bucket table of ${this.options.namespace}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    await this.installs;
    this.configServerClient.start();
    this.monitor.start();
    this.logger.info(
      { resp: this.listenAddress, advertised: this.advertisedAddress, version: this.proxy.tableVersion },
      'proxy started',
    );
    return this.listenAddress;
  }

  async stop(): Promise<void> {
    this.configServerClient.stop();
    this.monitor.stop();
    await this.workers?.stop();
    await this.proxy.close();
  }

  private onTable(table: BucketTable): Promise<void> {
    // Installs run one after another in arrival order; each waits for its promotions first. The
    // watch loop waits for this one before its next poll acknowledges the version.
    this.installs = this.installs.then(() => this.install(table));
    return this.installs;
  }

  /**
   * A replica the ConfigServer put in place of a master this proxy saw die is promoted **before**
   * the table is installed (the ConfigServer already promoted it; this is idempotent and covers a
   * ConfigServer that could not reach it), so writes never meet a READONLY replica.
   */
  private async install(table: BucketTable): Promise<void> {
    const previous = new Set(this.proxy.currentTable?.owners ?? []);
    try {
      const promoted = await this.monitor.onTable(previous, table.owners);
      if (promoted.length > 0) {
        this.promoted.push(...promoted);
        this.logger.info({ promoted }, 'promoted replica to master');
      }
    } catch (error) {
      this.logger.warn({ error: (error as Error).message }, 'promotion failed');
    }
    // Every worker runs it before this install (and so the ConfigServer's ack) completes.
    await this.workers?.installTable(table);
    this.proxy.setTable(table);
  }

  private report(address: string, state: 'down' | 'up', replica: string): void {
    this.logger.warn({ address, state, replica }, 'backend state changed');
    this.configServerClient
      .reportRedisState(address, state, replica)
      .then((action) => this.logger.info({ address, state, action }, 'reported backend state'))
      .catch((error: unknown) => this.logger.warn({ error: (error as Error).message }, 'report failed'));
  }

  private onConfigChange(update: Partial<ProxyRuntimeConfig>): void {
    this.workers?.broadcastConfig(update);
    if (!Object.keys(update).some((name) => name.endsWith('_cs_ip') || name.endsWith('_cs_port'))) return;
    const { master_cs_ip, master_cs_port, slave_cs_ip, slave_cs_port } = this.proxy.config;
    this.configServerClient.setServers(
      formatHostPort({ host: master_cs_ip, port: master_cs_port }),
      slave_cs_ip && slave_cs_port ? formatHostPort({ host: slave_cs_ip, port: slave_cs_port }) : undefined,
    );
  }
}
