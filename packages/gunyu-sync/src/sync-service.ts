import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '@kvforge/runtime';
import { parseAddress } from './config/address';
import type { GunyuConfig } from './config/config-schema';
import { parseDuration } from './config/duration';
import { GUNYU_ERROR_CODES, GunyuError } from './core/errors';
import type { ReplayOptions } from './core/replay-options';
import type { SpillingSpoolOptions } from './core/spilling-spool';
import { connectRedis, redisClient } from './net/redis-client';
import { collectStaleCheckpoints } from './replay/checkpoint-store';
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
  return {
    resumeFromBreakPoint: replay.resumeFromBreakPoint,
    keyExists: replay.keyExists,
    keyExistsLog: replay.keyExistsLog,
    functionExists: replay.functionExists,
    maxProtoBulkLen: replay.maxProtoBulkLen,
    maxBufferedValueBytes: replay.maxBufferedValueBytes,
    targetDb: replay.targetDb,
    targetDbMap: replay.targetDbMap,
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
 * All syncers of one process: standalone inputs map N:N by index onto the output addresses (as
 * GunYu does for standalone → standalone), or every input onto the single output.
 */
export class SyncService {
  readonly syncers: Syncer[] = [];

  constructor(
    readonly config: GunyuConfig,
    logger?: Logger,
    options: SyncServiceOptions = {},
  ) {
    const inputs = config.input.redis.addresses;
    const outputs = config.output.redis.addresses;
    if (outputs.length !== 1 && outputs.length !== inputs.length) {
      throw new GunyuError(
        GUNYU_ERROR_CODES.config,
        'output.redis.addresses must hold one address or one per input address',
      );
    }
    const listenPort = parseAddress(config.server.listen, { allowZeroPort: true }).port;
    inputs.forEach((inputAddress, index) => {
      const output = parseAddress((outputs.length === 1 ? outputs[0] : outputs[index]) as string);
      const input = parseAddress(inputAddress);
      this.syncers.push(
        new Syncer(
          {
            inputAddress,
            input: {
              ...input,
              userName: config.input.redis.userName || undefined,
              password: config.input.redis.password || undefined,
              tls: tlsOptionsFromConfig(config.input.redis, 'input'),
            },
            output: {
              ...output,
              userName: config.output.redis.userName || undefined,
              password: config.output.redis.password || undefined,
              tls: tlsOptionsFromConfig(config.output.redis, 'output'),
            },
            listeningPort: listenPort,
            replay: replayOptionsFromConfig(config),
            filter: {
              commandBlacklist: config.output.filter.commandBlacklist,
              prefixKeyBlacklist: config.output.filter.keyFilter.prefixKeyBlacklist,
              prefixKeyWhitelist: config.output.filter.keyFilter.prefixKeyWhitelist,
              dbBlacklist: config.output.filter.dbBlacklist,
            },
            syncDelayTestKey: config.input.syncDelayTestKey,
            reconnectBackoffMs: options.syncer?.reconnectBackoffMs ?? 2000,
            capaEof: options.syncer?.capaEof ?? true,
            transaction: config.output.replay.replayTransaction,
            spool: spoolOptionsFromConfig(config, inputs.length),
          },
          logger,
        ),
      );
    });
  }

  start(): void {
    for (const syncer of this.syncers) syncer.start();
  }

  async stop(): Promise<void> {
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
        Role: 'leader',
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
      const key = `${output.host}:${output.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const client = redisClient(output);
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
