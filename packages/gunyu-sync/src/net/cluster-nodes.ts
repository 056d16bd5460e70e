import { parseAddress } from '../config/address';
import { type ClusterTopology, parseClusterNodes } from '../core/cluster/cluster-topology';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';
import type { RedisEndpoint } from '../replay/target-connection';
import { connectRedis, redisClient } from './redis-client';

/** The endpoint of `address` with the credentials and TLS of `template`. */
export function endpointOf(address: string, template: RedisEndpoint): RedisEndpoint {
  const { host, port } = parseAddress(address);
  return { ...template, host, port };
}

/**
 * `CLUSTER NODES` of the first node of `addresses` that answers (a seed list, or the nodes last
 * known). Throws naming every failure when none does.
 */
export async function readClusterTopology(
  addresses: readonly string[],
  template: RedisEndpoint,
): Promise<ClusterTopology> {
  const failures: string[] = [];
  for (const address of addresses) {
    const client = redisClient(endpointOf(address, template));
    try {
      await connectRedis(client);
      const text = String(await client.call('CLUSTER', 'NODES'));
      const topology = parseClusterNodes(text);
      if (topology.shards.length > 0) return topology;
      failures.push(`${address}: no slots assigned`);
    } catch (error) {
      failures.push(`${address}: ${(error as Error).message}`);
    } finally {
      client.disconnect();
    }
  }
  throw new GunyuError(
    GUNYU_ERROR_CODES.target,
    `no cluster node answered CLUSTER NODES (${failures.join('; ')})`,
  );
}
