import { parseHostPort } from '@kvforge/runtime';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { parseByteSize } from '../core/byte-size';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { createDcacheServer } from '../http/create-dcache-server';
import { DcacheNode } from '../node/dcache-node';
import { EtcdMembership } from '../node/etcd-membership';
import { type Membership, SeedMembership } from '../node/membership';

/** A deployable node's settings (the app's config schema produces exactly this). */
export interface DcacheServiceConfig {
  nodeId: string;
  /** host:port to bind. */
  listen: string;
  /** host:port peers and clients use. @default listen */
  advertise?: string | undefined;
  seeds: string[];
  replicas: number;
  writeQuorum: number;
  /** Bytes, or a size such as `256mb`. */
  maxMemory: string | number;
  maxValueBytes: string | number;
  clusterToken?: string | undefined;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  deadAfterMs: number;
  leaveTimeoutMs: number;
  membership: 'seeds' | 'etcd';
  etcdEndpoints: string[];
  etcdPrefix: string;
  /** Test hook: POST /internal/fault/deny partitions this node from the given peers. @default false */
  faultInjection?: boolean | undefined;
}

export interface DcacheServiceDependencies {
  /** The process's pino logger; the node logs through a child of it. */
  logger: FastifyBaseLogger;
  /** The service's metrics registry, served at /metrics. */
  registry: Registry;
}

const bytes = (field: string, value: string | number): number => {
  if (typeof value === 'number') return value;
  try {
    return parseByteSize(value);
  } catch (error) {
    throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, `${field}: ${(error as Error).message}`);
  }
};

/**
 * One running dcache node: the node (store, ring, forwarding, migration), its membership (seeds
 * or etcd) and its HTTP server, listening. `shutdown()` hands the partitions off first.
 */
export class DcacheService {
  private constructor(
    readonly node: DcacheNode,
    readonly app: FastifyInstance,
    readonly membership: Membership,
    private readonly logger: FastifyBaseLogger,
  ) {}

  static async start(
    config: DcacheServiceConfig,
    dependencies: DcacheServiceDependencies,
  ): Promise<DcacheService> {
    if (config.writeQuorum > config.replicas)
      throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, 'writeQuorum must not exceed replicas');
    if (config.membership === 'etcd' && config.etcdEndpoints.length === 0)
      throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, 'membership etcd needs etcdEndpoints');
    const listen = parseHostPort(config.listen, { allowZeroPort: true });
    const { logger, registry } = dependencies;
    const node = new DcacheNode({
      nodeId: config.nodeId,
      address: config.advertise ?? config.listen,
      seeds: config.seeds,
      replicas: config.replicas,
      writeQuorum: config.writeQuorum,
      maxMemoryBytes: bytes('maxMemory', config.maxMemory),
      maxValueBytes: bytes('maxValueBytes', config.maxValueBytes),
      probeIntervalMs: config.probeIntervalMs,
      probeTimeoutMs: config.probeTimeoutMs,
      deadAfterMs: config.deadAfterMs,
      leaveTimeoutMs: config.leaveTimeoutMs,
      faultInjection: config.faultInjection ?? false,
      membership: config.membership === 'etcd' ? 'external' : 'seeds',
      ...(config.clusterToken === undefined ? {} : { clusterToken: config.clusterToken }),
      logger: logger.child({ component: 'node' }),
    });
    const app = await createDcacheServer({ node, logger, registry });
    await app.listen({ host: listen.host, port: listen.port });
    const membership: Membership =
      config.membership === 'etcd'
        ? new EtcdMembership(node, { endpoints: config.etcdEndpoints, prefix: config.etcdPrefix })
        : new SeedMembership(node);
    // etcd mode still runs the node's probe rounds (failure view, table sync); seeds mode starts them itself.
    if (config.membership === 'etcd') node.start();
    await membership.start();
    logger.info(
      { nodeId: config.nodeId, listen: config.listen, seeds: config.seeds },
      'dcache node listening',
    );
    return new DcacheService(node, app, membership, logger);
  }

  /** Graceful stop: the others pull this node's partitions while it still serves, then it closes. */
  async shutdown(): Promise<void> {
    try {
      await this.membership.leave();
    } catch (error) {
      this.logger.warn({ err: error }, 'hand-off before shutdown failed');
    }
    await this.membership.stop();
    await this.app.close();
    await this.node.stop();
  }
}

export const startDcacheService = DcacheService.start;
