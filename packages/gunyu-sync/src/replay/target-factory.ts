import type { Logger } from '@kvforge/runtime';
import { Cluster, type Redis } from 'ioredis';
import { endpointOf } from '../net/cluster-nodes';
import { redisClient } from '../net/redis-client';
import { ClusterTargetConnection } from './cluster-target-connection';
import type { ClusterCounters } from './sync-counters';
import { type RedisEndpoint, TargetConnection } from './target-connection';
import type { TargetLink } from './target-link';

/** The target of a syncer: a standalone endpoint, or a cluster reached through seed addresses. */
export interface TargetSpec {
  endpoint: RedisEndpoint;
  /** Set for `output.redis.type: cluster`: any nodes of the target cluster. */
  clusterSeeds?: readonly string[] | undefined;
}

/** A control-plane client (checkpoints, FUNCTION, FLUSH): ioredis Redis, or Cluster for a cluster. */
export type ControlClient = Redis | Cluster;

export function createTargetLink(spec: TargetSpec, counters: ClusterCounters, logger?: Logger): TargetLink {
  return spec.clusterSeeds
    ? new ClusterTargetConnection(spec.clusterSeeds, spec.endpoint, counters, logger)
    : new TargetConnection(spec.endpoint);
}

export function createControlClient(spec: TargetSpec): ControlClient {
  if (!spec.clusterSeeds) return redisClient(spec.endpoint);
  const { userName, password, tls } = spec.endpoint;
  const cluster = new Cluster(
    spec.clusterSeeds.map((address) => {
      const { host, port } = endpointOf(address, spec.endpoint);
      return { host, port };
    }),
    {
      lazyConnect: true,
      enableOfflineQueue: true,
      clusterRetryStrategy: (times) => (times > 3 ? null : 200),
      redisOptions: { username: userName, password, tls, maxRetriesPerRequest: 1 },
    },
  );
  cluster.on('error', () => {});
  return cluster;
}

/** Runs `command` on every master of a cluster, or once on a standalone server. */
export async function onEveryMaster(
  client: ControlClient,
  command: (node: Redis) => Promise<unknown>,
): Promise<void> {
  if (client instanceof Cluster) await Promise.all(client.nodes('master').map((node) => command(node)));
  else await command(client);
}

/** SELECT on a standalone server; a cluster has DB 0 only. */
export async function selectDatabase(client: ControlClient, db: number): Promise<void> {
  if (!(client instanceof Cluster)) await client.select(db);
}
