import { createHttpServer } from '@kvforge/common-http';
import { type Clock, type HostPort, SYSTEM_CLOCK, type TimerHandle } from '@kvforge/runtime';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { SegmentMount } from '../config/segment-mounts';
import { httpOrigin, parseMetaServiceUrl, parseMetricsUrl } from '../config/service-addresses';
import { MetaService, type MetaServiceOptions } from '../core/meta-service';
import type { LeaseElection } from '../ha/lease-election';
import { MEMCACHE_ERROR_ENVELOPE } from '../http/error-envelope';
import { memcacheRestPlugin, standaloneHaSnapshot } from '../http/memcache-rest-plugin';
import { FileMetadataStore } from '../metadata/file-metadata-store';
import { MetaRpcServer } from '../rpc/meta-rpc-server';
import type { RpcLimits } from '../rpc/rpc-protocol';
import { BlobMover } from './blob-mover';
import { electionSnapshot, type MetaHaOptions, startElection } from './meta-ha';

export interface MetaServiceServerOptions {
  /** Meta RPC listener, `tcp://HOST:PORT` (port 0: any free port). */
  rpcUrl: string;
  /** REST listener, `http://HOST[:PORT]` (port 0: any free port). */
  restUrl: string;
  /** The process's pino logger (fastify's loggerInstance; RPC faults are logged on a child). */
  logger: FastifyBaseLogger;
  service?: Partial<MetaServiceOptions>;
  rpcLimits?: Partial<RpcLimits>;
  /** Segments mounted before the listeners open. */
  mounts?: readonly SegmentMount[];
  /** The `/metadata` file (FileMetadataStore); absent or empty: in memory. */
  metadataPath?: string;
  /** How often deferred work runs (lease ends, zombie reclaim, silent local services). */
  tickIntervalMs?: number;
  /** A local service silent this long (no request, no heartbeat) loses its rank; 0 = link loss only. */
  localServiceLeaseMs?: number;
  /** Drives the tick and (unless `service.clock` is set) the engine's time; a ManualClock in tests. */
  clock?: Clock;
  /** HA with an etcd lease: only the elected node serves the meta RPC and REST writes. */
  ha?: MetaHaOptions;
}

export const DEFAULT_META_SERVICE_SERVER_OPTIONS = {
  tickIntervalMs: 100,
  localServiceLeaseMs: 10_000,
} as const;

/** A running meta service: the engine, its meta RPC and REST listeners and the tick. */
export interface MetaServiceServer {
  service: MetaService;
  rpc: HostPort;
  rest: HostPort;
  /** The REST origin `/health` and `/leader` advertise. */
  advertisedOrigin: string;
  app: FastifyInstance;
  /** The election when HA is on. */
  election: LeaseElection | undefined;
  /** Stops the tick and both listeners. */
  close(): Promise<void>;
}

/** Everything a meta service process runs, wired from typed options (the app only reads config). */
export async function startMetaServiceServer(options: MetaServiceServerOptions): Promise<MetaServiceServer> {
  // Addresses are checked before anything starts, so a bad one never leaves a half-open process.
  const rpcAddress = parseMetaServiceUrl(options.rpcUrl, { allowZeroPort: true });
  const restAddress = parseMetricsUrl(options.restUrl);
  const clock = options.clock ?? SYSTEM_CLOCK;
  const tickIntervalMs = options.tickIntervalMs ?? DEFAULT_META_SERVICE_SERVER_OPTIONS.tickIntervalMs;

  // One clock for the tick and the engine's leases/timeouts unless the engine is given its own.
  // Demotions copy the bytes when the rank has a local service (segments mounted at start have none).
  const service: MetaService = new MetaService({
    ...(options.clock ? { clock: options.clock } : {}),
    canCopyBlobs: (rank) => service.localServices.get(rank) !== undefined,
    // HA: every local service keeps the map of its committed blobs, for a new leader's rebuild.
    ...(options.ha
      ? {
          onBlobReadable: (object, blob) =>
            rpc.pushBlobRecord(blob.rank, [1, object.key, object.size, blob.medium, blob.offset]),
          onBlobFreed: (blob) => rpc.pushBlobRecord(blob.rank, [0, blob.medium, blob.offset]),
        }
      : {}),
    ...options.service,
  });
  for (const mount of options.mounts ?? []) service.mount(mount.rank, mount.medium, mount.bytes);

  const rpcLogger = options.logger.child({ component: 'meta-rpc' });
  let election: LeaseElection | undefined;
  const rpc = new MetaRpcServer({
    service,
    ...(options.rpcLimits ? { limits: options.rpcLimits } : {}),
    onError: (error) => rpcLogger.warn({ err: error }, 'bad meta RPC request'),
    onLocalServiceLost: (rank, reason) =>
      rpcLogger.warn({ rank, reason }, 'local service lost: its segments and their blobs are dropped'),
    clock,
    ...(options.ha
      ? {
          leadership: {
            isServing: () => election?.isServing() ?? false,
            leaderRpcUrl: () => election?.leader?.rpcUrl ?? null,
            viewVersion: () => election?.viewVersion ?? 0,
          },
        }
      : {}),
  });
  const localServiceLeaseMs =
    options.localServiceLeaseMs ?? DEFAULT_META_SERVICE_SERVER_OPTIONS.localServiceLeaseMs;
  // Demotion copies are fenced like client writes: stamped with the rank's write epoch.
  const mover = new BlobMover(service, options.logger.child({ component: 'blob-mover' }));
  const app = createHttpServer({
    logger: options.logger,
    errorEnvelope: MEMCACHE_ERROR_ENVELOPE,
    apiDocs: {
      title: 'memcache-hybrid meta service API',
      description:
        'The meta service REST API: objects, segments, capacity, HA role and leader, metadata, and /metrics.',
    },
  });
  let tick: TimerHandle | undefined;
  let closed = false;
  const scheduleTick = () => {
    tick = clock.setTimeout(() => {
      service.manager.tick();
      mover.dispatch();
      if (localServiceLeaseMs > 0) rpc.expireSilentLocalServices(localServiceLeaseMs);
      if (!closed) scheduleTick();
    }, tickIntervalMs);
    // A pending tick must not keep the process alive on its own.
    (tick.id as { unref?: () => void } | undefined)?.unref?.();
  };
  const close = async () => {
    closed = true;
    if (tick) clock.clearTimeout(tick);
    await election?.stop();
    mover.close();
    await Promise.all([app.close(), rpc.close()]);
  };

  try {
    const rpcBound = await rpc.listen(rpcAddress.port, rpcAddress.host);
    // Advertise the port actually bound (a configured port 0 picks one).
    let advertisedOrigin = restAddress.origin;
    await app.register(memcacheRestPlugin, {
      service,
      ha: () => (election ? electionSnapshot(election) : standaloneHaSnapshot(advertisedOrigin)),
      refuseWrite: () =>
        !election || election.isServing()
          ? undefined
          : `Not leader: the leader is ${election.leader?.restOrigin ?? 'unknown'}`,
      ...(options.metadataPath ? { metadata: new FileMetadataStore(options.metadataPath) } : {}),
    });
    await app.listen({ host: restAddress.host, port: restAddress.port });
    const bound = app.server.address();
    const restPort = typeof bound === 'object' && bound ? bound.port : restAddress.port;
    if (restAddress.port === 0) advertisedOrigin = httpOrigin({ host: restAddress.host, port: restPort });
    if (options.ha) {
      const haLogger = options.logger.child({ component: 'meta-ha' });
      election = startElection(
        options.ha,
        { rpc: rpcBound, restOrigin: advertisedOrigin },
        haLogger,
        (leading) => {
          haLogger.warn({ leading }, leading ? 'elected leader' : 'stepped down');
          // The old view is stale: every client and local service must find the leader again.
          if (!leading) rpc.dropConnections();
        },
      );
    }
    scheduleTick();
    return {
      service,
      rpc: rpcBound,
      rest: { host: restAddress.host, port: restPort },
      get advertisedOrigin() {
        return advertisedOrigin;
      },
      app,
      get election() {
        return election;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
