import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { type Logger, SILENT_LOGGER, sleep } from '@kvforge/runtime';
import { ClusterSource } from './cluster-source';
import { parseAddress } from './config/address';
import type { GunyuConfig } from './config/config-schema';
import { parseDuration } from './config/duration';
import { GUNYU_ERROR_CODES, GunyuError } from './core/errors';
import type { ReplayOptions } from './core/replay-options';
import type { SpillingSpoolOptions } from './core/spilling-spool';
import { endpointOf } from './net/cluster-nodes';
import { connectRedis } from './net/redis-client';
import { collectStaleCheckpoints } from './replay/checkpoint-store';
import type { RedisEndpoint } from './replay/target-connection';
import { createControlClient } from './replay/target-factory';
import { Syncer, type SyncerOptions } from './syncer';

export interface SyncerStatus {
  Input: string;
  Role: 'leader' | 'follower';
  Transaction: boolean;
  State: string;
  /** New (not in GunYu): source offset received, offset applied on the target, and the lag. */
  SourceOffset: number;
  AppliedOffset: number;
  LagBytes: number;
  LagMs: number;
}

export interface SyncServiceOptions {
  /** Overrides for tests (e.g. a short reconnect back-off). */
  syncer?: Partial<Pick<SyncerOptions, 'reconnectBackoffMs' | 'capaEof'>>;
}

/** Builds the replay options of a syncer from GunYu's config. */
export function replayOptionsFromConfig(config: GunyuConfig): ReplayOptions {
  const replay = config.output.replay;
  // A cluster has DB 0 only: every source DB lands there (GunYu: targetDb must be -1/0).
  const cluster = config.output.redis.type === 'cluster';
  return {
    resumeFromBreakPoint: replay.resumeFromBreakPoint,
    keyExists: replay.keyExists,
    keyExistsLog: replay.keyExistsLog,
    functionExists: replay.functionExists,
    maxProtoBulkLen: replay.maxProtoBulkLen,
    maxBufferedValueBytes: replay.maxBufferedValueBytes,
    targetDb: cluster ? 0 : replay.targetDb,
    targetDbMap: cluster ? {} : replay.targetDbMap,
    batchCmdCount: replay.batchCmdCount,
    batchTickerMs: parseDuration(replay.batchTicker),
    batchBufferSize: replay.batchBufferSize,
    keepaliveTickerMs: parseDuration(replay.keepaliveTicker),
    replayRdbParallel: replay.replayRdbParallel,
    replayRdbEnableRestore: replay.replayRdbEnableRestore,
    updateCheckpointTickerMs: parseDuration(replay.updateCheckpointTicker),
    replayTransaction: replay.replayTransaction,
    replaceHashTag: replay.replaceHashTag,
    checkpointName: 'redis-gunyu-checkpoint',
  };
}

/** `tlsEnable` + kvforge's `tlsOptions` → node:tls options (files read once, at startup). */
export function tlsOptionsFromConfig(
  redis: GunyuConfig['input']['redis'],
  side: 'input' | 'output',
): ConnectionOptions | undefined {
  if (!redis.tlsEnable) return undefined;
  const options = redis.tlsOptions;
  const read = (field: 'caFile' | 'certFile' | 'keyFile'): Buffer | undefined => {
    const path = options?.[field];
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new GunyuError(
        GUNYU_ERROR_CODES.config,
        `${side}.redis.tlsOptions.${field}: cannot read ${path}: ${(error as Error).message}`,
      );
    }
  };
  return {
    ca: read('caFile'),
    cert: read('certFile'),
    key: read('keyFile'),
    ...(options?.serverName ? { servername: options.serverName } : {}),
    rejectUnauthorized: !(options?.insecureSkipVerify ?? false),
  };
}

/**
 * channel.* → one syncer's spool: memory.maxSize in memory, then files in storer.dirPath up to
 * storer.maxSize (split evenly across the syncers, as GunYu does; -1 = unlimited).
 */
export function spoolOptionsFromConfig(config: GunyuConfig, syncers: number): Partial<SpillingSpoolOptions> {
  const { channel } = config;
  const storer = channel.storer;
  const diskBytes = storer?.maxSize ?? 50 * 1024 * 1024 * 1024;
  return {
    memoryBytes: channel.memory?.maxSize ?? 256 * 1024 * 1024,
    maxDiskBytes: channel.type === 'memory' ? 0 : diskBytes < 0 ? -1 : Math.floor(diskBytes / syncers),
    segmentBytes: storer?.logSize ?? 100 * 1024 * 1024,
    ...(storer?.dirPath ? { directory: storer.dirPath } : {}),
  };
}

/**
 * All syncers of one process. Standalone inputs map N:N by index onto standalone output addresses
 * (as GunYu does for standalone → standalone), or every input onto the single output; a cluster
 * output takes every input through its seed addresses. A cluster input is discovered at start():
 * one syncer per shard, watched every `server.checkRedisTypologyTicker`.
 */
export class SyncService {
  readonly syncers: Syncer[] = [];
  private readonly clusterSource: ClusterSource | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(
    readonly config: GunyuConfig,
    private readonly logger?: Logger,
    private readonly options: SyncServiceOptions = {},
  ) {
    const inputs = config.input.redis.addresses;
    const outputs = config.output.redis.addresses;
    if (config.input.redis.type === 'cluster') {
      this.clusterSource = new ClusterSource(
        {
          seeds: inputs,
          template: this.endpointTemplate('input'),
          syncFrom: config.input.syncFrom,
          mode: config.input.mode,
          checkpointBase: 'redis-gunyu-checkpoint',
          syncDelayTestKey: config.input.syncDelayTestKey,
          checkIntervalMs: parseDuration(config.server.checkRedisTypologyTicker),
          transactionTarget:
            config.output.redis.type === 'cluster' && config.output.replay.replayTransaction
              ? { seeds: outputs, template: this.endpointTemplate('output') }
              : undefined,
        },
        (plan) =>
          this.createSyncer(plan.nodeAddress, plan.node, outputs[0] as string, {
            checkpointName: plan.checkpointName,
            syncDelayTestKey: plan.syncDelayTestKey,
            probeEndpoint: plan.master,
            shardCount: plan.shardCount,
            slots: plan.slots,
          }),
        logger ?? SILENT_LOGGER,
      );
      return;
    }
    if (
      config.output.redis.type === 'standalone' &&
      outputs.length !== 1 &&
      outputs.length !== inputs.length
    ) {
      throw new GunyuError(
        GUNYU_ERROR_CODES.config,
        'output.redis.addresses must hold one address or one per input address',
      );
    }
    inputs.forEach((inputAddress, index) => {
      const output = (
        outputs.length === 1 || config.output.redis.type === 'cluster' ? outputs[0] : outputs[index]
      ) as string;
      this.syncers.push(
        this.createSyncer(inputAddress, endpointOf(inputAddress, this.endpointTemplate('input')), output, {}),
      );
    });
  }

  /** Credentials and TLS of one side; host and port come from each address. */
  private endpointTemplate(side: 'input' | 'output'): RedisEndpoint {
    const redis = this.config[side].redis;
    return {
      host: '',
      port: 0,
      userName: redis.userName || undefined,
      password: redis.password || undefined,
      tls: tlsOptionsFromConfig(redis, side),
    };
  }

  private createSyncer(
    inputAddress: string,
    input: RedisEndpoint,
    outputAddress: string,
    shard: {
      checkpointName?: string;
      syncDelayTestKey?: string;
      probeEndpoint?: RedisEndpoint;
      shardCount?: number;
      slots?: [number, number][];
    },
  ): Syncer {
    const { config, options } = this;
    const clusterOutput = config.output.redis.type === 'cluster';
    const output = parseAddress(outputAddress);
    const replay = replayOptionsFromConfig(config);
    if (shard.checkpointName) replay.checkpointName = shard.checkpointName;
    const syncerCount = shard.shardCount ?? config.input.redis.addresses.length;
    return new Syncer(
      {
        inputAddress,
        input,
        output: {
          ...output,
          userName: config.output.redis.userName || undefined,
          password: config.output.redis.password || undefined,
          tls: tlsOptionsFromConfig(config.output.redis, 'output'),
        },
        outputCluster: clusterOutput ? config.output.redis.addresses : undefined,
        listeningPort: parseAddress(config.server.listen, { allowZeroPort: true }).port,
        replay,
        filter: {
          commandBlacklist: config.output.filter.commandBlacklist,
          prefixKeyBlacklist: config.output.filter.keyFilter.prefixKeyBlacklist,
          prefixKeyWhitelist: config.output.filter.keyFilter.prefixKeyWhitelist,
          dbBlacklist: config.output.filter.dbBlacklist,
          keySlotBlacklist: config.output.filter.slotFilter?.keySlotBlacklist,
          keySlotWhitelist: config.output.filter.slotFilter?.keySlotWhitelist,
        },
        syncDelayTestKey: shard.syncDelayTestKey ?? config.input.syncDelayTestKey,
        probeEndpoint: shard.probeEndpoint,
        reconnectBackoffMs: options.syncer?.reconnectBackoffMs ?? 2000,
        capaEof: options.syncer?.capaEof ?? true,
        // Standalone → cluster runs plain batches + periodic checkpoints; cluster → cluster decides per
        // session (identical, stable layouts: one script per batch; README: transaction mode).
        transaction: config.output.replay.replayTransaction && (!clusterOutput || shard.slots !== undefined),
        transactionMode:
          clusterOutput && shard.slots && config.output.replay.replayTransaction
            ? () =>
                this.clusterSource?.transactionAllowed().then((allowed) => allowed === true) ??
                Promise.resolve(false)
            : undefined,
        shardSlots: shard.slots,
        spool: spoolOptionsFromConfig(config, syncerCount),
        fencing: {
          leaseTimeoutMs: parseDuration(config.cluster?.leaseTimeout ?? '10s'),
          leaseRenewIntervalMs: parseDuration(config.cluster?.leaseRenewInterval ?? '3s'),
        },
      },
      this.logger,
    );
  }

  start(): void {
    if (!this.clusterSource) {
      for (const syncer of this.syncers) syncer.start();
      return;
    }
    this.stopped = false;
    this.starting ??= this.startCluster().catch((error: Error) => {
      this.starting = undefined;
      this.logger?.error({ error: error.message }, 'source cluster discovery failed');
      throw error;
    });
    this.starting.catch(() => {});
  }

  /** Resolves once every syncer exists (a cluster source is discovered first). */
  async ready(): Promise<void> {
    await this.starting;
  }

  private async startCluster(): Promise<void> {
    const source = this.clusterSource as ClusterSource;
    for (;;) {
      try {
        this.syncers.push(...(await source.discover()));
        break;
      } catch (error) {
        if (this.stopped) return;
        this.logger?.warn({ error: (error as Error).message }, 'source cluster discovery failed, retrying');
        await sleep(this.options.syncer?.reconnectBackoffMs ?? 2000);
        if (this.stopped) return;
      }
    }
    if (this.stopped) return;
    for (const syncer of this.syncers) syncer.start();
    source.watch(() => this.rebuildCluster());
  }

  /** The source slot layout changed: every pipeline stops and the shards are discovered again. */
  private async rebuildCluster(): Promise<void> {
    const source = this.clusterSource as ClusterSource;
    const old = this.syncers.splice(0);
    await Promise.all(old.map((syncer) => syncer.stop()));
    source.pipelines.clear();
    if (this.stopped) return;
    const fresh = await source.discover();
    for (const syncer of fresh) syncer.counters.cluster.topologyRestarts++;
    this.syncers.push(...fresh);
    for (const syncer of fresh) syncer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clusterSource?.stopWatching();
    await this.starting?.catch(() => {});
    await Promise.all(this.syncers.map((syncer) => syncer.stop()));
  }

  /**
   * Resolves the `inputs` query (`all` or comma-separated host:port). Throws
   * GUNYU_ERR_UNKNOWN_INPUT when it is missing or names an unknown input.
   */
  select(inputs: string | undefined): Syncer[] {
    if (!inputs) throw new GunyuError(GUNYU_ERROR_CODES.unknownInput, 'missing inputs');
    if (inputs === 'all') return this.syncers;
    const selected: Syncer[] = [];
    for (const name of inputs
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)) {
      const syncer = this.syncers.find((candidate) => candidate.options.inputAddress === name);
      if (!syncer) throw new GunyuError(GUNYU_ERROR_CODES.unknownInput, `unknown input ${name}`);
      selected.push(syncer);
    }
    if (selected.length === 0) throw new GunyuError(GUNYU_ERROR_CODES.unknownInput, 'missing inputs');
    return selected;
  }

  status(): SyncerStatus[] {
    const now = Date.now();
    return this.syncers.map((syncer) => {
      const counters = syncer.counters;
      const lagBytes = Math.max(0, counters.inputOffset - counters.ackOffset);
      return {
        Input: syncer.options.inputAddress,
        Role: syncer.guard.role,
        Transaction: syncer.transaction,
        State: syncer.state,
        SourceOffset: counters.inputOffset,
        AppliedOffset: counters.ackOffset,
        LagBytes: lagBytes,
        LagMs: lagBytes === 0 ? 0 : Math.max(0, now - counters.ackTimeMs),
      };
    });
  }

  /** Deletes stale checkpoints from every target (POST /storage/gc). */
  async collectGarbage(): Promise<number> {
    const staleMs = parseDuration(this.config.channel.staleCheckpointDuration);
    let removed = 0;
    const seen = new Set<string>();
    for (const syncer of this.syncers) {
      const output = syncer.options.output;
      const key = `${output.host}:${output.port}/${syncer.options.replay.checkpointName}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const client = createControlClient(syncer.target);
      try {
        await connectRedis(client);
        removed += await collectStaleCheckpoints(
          client,
          syncer.options.replay.checkpointName,
          staleMs,
          Date.now(),
        );
      } finally {
        client.disconnect();
      }
    }
    return removed;
  }
}
