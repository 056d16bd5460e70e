import { spawnSync } from 'node:child_process';
import { Cluster } from 'ioredis';
import { type RedisProcess, startRedis } from './redis-server';
import { waitFor } from './wait-for';

export interface StartRedisClusterOptions {
  /** @default 3 */
  masters?: number;
  /** @default 0 */
  replicasPerMaster?: number;
  /** Extra redis-server arguments for every node (e.g. `--enable-debug-command yes`). */
  extraArgs?: readonly string[];
}

export interface RedisClusterProcess {
  readonly nodes: RedisProcess[];
  /** `host:port` of every node. */
  readonly addresses: string[];
  /** An ioredis Cluster client (closed by stop()). */
  client(): Cluster;
  stop(): Promise<void>;
}

/** Starts an N-master Redis Cluster with `redis-cli --cluster create` and waits for cluster_state:ok. */
export async function startRedisCluster(
  options: StartRedisClusterOptions = {},
): Promise<RedisClusterProcess> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 0;
  const total = masters * (1 + replicas);
  if (masters < 3) throw new Error('redis-cli --cluster create needs at least 3 masters');
  const nodes = await Promise.all(
    Array.from({ length: total }, () =>
      startRedis({
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '2000',
          ...(options.extraArgs ?? []),
        ],
      }),
    ),
  );
  const clients = new Set<Cluster>();
  const stop = async (): Promise<void> => {
    for (const client of clients) client.disconnect();
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((node) => node.address),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed:\n${created.stdout}\n${created.stderr}`);
    await waitFor(
      async () => {
        for (const node of nodes) {
          const client = node.client({ lazyConnect: true, maxRetriesPerRequest: 0 });
          try {
            await client.connect();
            const info = await client.cluster('INFO');
            if (!String(info).includes('cluster_state:ok')) return false;
          } finally {
            client.disconnect();
          }
        }
        return true;
      },
      { timeoutMs: 30_000, message: 'cluster_state:ok on every node' },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes,
    addresses: nodes.map((node) => node.address),
    client() {
      const client = new Cluster(nodes.map((node) => ({ host: node.host, port: node.port })));
      client.on('error', () => {});
      clients.add(client);
      return client;
    },
    stop,
  };
}
