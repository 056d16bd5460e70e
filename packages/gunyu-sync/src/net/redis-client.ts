import { type Cluster, Redis } from 'ioredis';
import type { RedisEndpoint } from '../replay/target-connection';

/** A lazily connecting ioredis client for control commands: no retries, errors surface to the caller. */
export function redisClient(endpoint: RedisEndpoint): Redis {
  const client = new Redis({
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.userName,
    password: endpoint.password,
    tls: endpoint.tls,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: () => null,
  });
  client.on('error', () => {
    // ioredis listens `once` for a socket error; a failed TLS handshake raises a second one (the
    // server's alert) that nobody would catch and that would crash the process.
    client.stream?.on('error', () => {});
  });
  return client;
}

/**
 * `client.connect()`, but failing with the socket's own error (e.g. a TLS certificate problem)
 * instead of ioredis' generic "Connection is closed.".
 */
export async function connectRedis(client: Redis | Cluster): Promise<void> {
  let cause: Error | undefined;
  const onError = (error: Error): void => {
    cause ??= error;
  };
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    throw cause ?? error;
  } finally {
    client.off('error', onError);
  }
}
