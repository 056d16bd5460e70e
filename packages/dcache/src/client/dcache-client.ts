import { Agent } from 'undici';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { partitionOf } from '../core/hash';
import { RING_VERSION_HEADER } from '../core/internal-api';

export interface DcacheClientOptions {
  /** host:port of any nodes; the ring is read from the first that answers. */
  nodes: string[];
  connectionsPerNode: number;
  requestTimeoutMs: number;
  /** Attempts per operation; each failure refreshes the ring first. */
  maxAttempts: number;
  /** The ring is also re-read this often. 0 = only on change. */
  refreshIntervalMs: number;
}

export const DEFAULT_DCACHE_CLIENT_OPTIONS: Omit<DcacheClientOptions, 'nodes'> = {
  connectionsPerNode: 16,
  requestTimeoutMs: 3000,
  maxAttempts: 3,
  refreshIntervalMs: 60_000,
};

interface Ring {
  version: number;
  partitionCount: number;
  addresses: Map<string, string>;
  owners: string[][];
}

export interface ClientRoutingStats {
  /** Requests answered by the node they were sent to (no forward hop). */
  direct: number;
  total: number;
  ringRefreshes: number;
}

export interface ClientReadResult<T = unknown> {
  found: boolean;
  value: T | undefined;
  nodeId: string;
}

/**
 * The smart client: keeps the partition table, sends each key straight to its owner, one batch
 * request per owner, keep-alive pools through undici, and re-reads the ring when a node reports a
 * newer version or a call fails.
 */
export class DcacheClient {
  readonly options: DcacheClientOptions;
  readonly stats: ClientRoutingStats = { direct: 0, total: 0, ringRefreshes: 0 };
  private readonly agent: Agent;
  private ring: Ring | undefined;
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: Partial<DcacheClientOptions> & Pick<DcacheClientOptions, 'nodes'>) {
    this.options = { ...DEFAULT_DCACHE_CLIENT_OPTIONS, ...options };
    if (this.options.nodes.length === 0)
      throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, 'nodes is empty');
    this.agent = new Agent({ connections: this.options.connectionsPerNode, keepAliveTimeout: 30_000 });
    if (this.options.refreshIntervalMs > 0) {
      this.timer = setInterval(
        () => void this.refreshRing().catch(() => undefined),
        this.options.refreshIntervalMs,
      );
      this.timer.unref();
    }
  }

  static async connect(
    options: Partial<DcacheClientOptions> & Pick<DcacheClientOptions, 'nodes'>,
  ): Promise<DcacheClient> {
    const client = new DcacheClient(options);
    await client.refreshRing();
    return client;
  }

  get ringVersion(): number {
    return this.ring?.version ?? 0;
  }

  /** Re-reads the ring from any known node (deduplicated while one refresh runs). */
  refreshRing(): Promise<void> {
    this.refreshing ??= this.loadRing().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async loadRing(): Promise<void> {
    const candidates = new Set([...(this.ring?.addresses.values() ?? []), ...this.options.nodes]);
    let lastError: unknown;
    for (const address of candidates) {
      try {
        const { statusCode, body } = await this.call(address, 'GET', '/api/v1/cluster/ring');
        const ring = body as {
          ring_version: number;
          partition_count: number;
          members: Array<{ node_id: string; address: string }>;
          owners: string[][];
        };
        if (statusCode !== 200 || !Array.isArray(ring?.owners))
          throw new Error(`bad ring answer (${statusCode})`);
        if (this.ring !== undefined && ring.ring_version < this.ring.version) continue;
        this.ring = {
          version: ring.ring_version,
          partitionCount: ring.partition_count,
          addresses: new Map(ring.members.map((member) => [member.node_id, member.address])),
          owners: ring.owners,
        };
        this.stats.ringRefreshes++;
        return;
      } catch (error) {
        lastError = error;
      }
    }
    if (this.ring === undefined) {
      throw new DcacheError(DCACHE_ERROR_CODES.FORWARD_FAILED, `no node answered: ${String(lastError)}`);
    }
  }

  private async call(
    address: string,
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ statusCode: number; body: unknown }> {
    const response = await this.agent.request({
      origin: `http://${address}`,
      path,
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: this.options.requestTimeoutMs,
      bodyTimeout: this.options.requestTimeoutMs,
    });
    const text = await response.body.text();
    const header = response.headers[RING_VERSION_HEADER];
    if (typeof header === 'string' && this.ring !== undefined && Number(header) > this.ring.version) {
      void this.refreshRing().catch(() => undefined);
    }
    return { statusCode: response.statusCode, body: text.length > 0 ? JSON.parse(text) : undefined };
  }

  /** Owner first, then the replicas: the nodes to try for `key`. */
  private targets(key: string): Array<{ nodeId: string; address: string }> {
    const ring = this.ring!;
    const holders = ring.owners[partitionOf(key, ring.partitionCount)] ?? [];
    const targets: Array<{ nodeId: string; address: string }> = [];
    for (const nodeId of holders) {
      const address = ring.addresses.get(nodeId);
      if (address !== undefined) targets.push({ nodeId, address });
    }
    if (targets.length === 0) {
      const [nodeId, address] = [...ring.addresses][0]!;
      targets.push({ nodeId, address });
    }
    return targets;
  }

  private async withRetry<T>(operation: (attempt: number) => Promise<T>): Promise<T> {
    if (this.ring === undefined) await this.refreshRing();
    let lastError: unknown;
    for (let attempt = 0; attempt < this.options.maxAttempts; attempt++) {
      try {
        return await operation(attempt);
      } catch (error) {
        if (error instanceof DcacheError && error.code === DCACHE_ERROR_CODES.INVALID_REQUEST) throw error;
        lastError = error;
        await this.refreshRing().catch(() => undefined);
      }
    }
    throw lastError instanceof DcacheError
      ? lastError
      : new DcacheError(DCACHE_ERROR_CODES.FORWARD_FAILED, String(lastError), { cause: lastError });
  }

  private check(statusCode: number, body: unknown, allowNotFound = false): void {
    if (statusCode === 200 || (allowNotFound && statusCode === 404)) return;
    const envelope = body as { error?: string; message?: string } | undefined;
    const code = statusCode === 400 ? DCACHE_ERROR_CODES.INVALID_REQUEST : DCACHE_ERROR_CODES.FORWARD_FAILED;
    throw new DcacheError(code, `${envelope?.error ?? statusCode}: ${envelope?.message ?? ''}`);
  }

  private countRoute(target: string, answeredBy: unknown): void {
    this.stats.total++;
    if (answeredBy === target) this.stats.direct++;
  }

  async get<T = unknown>(key: string): Promise<ClientReadResult<T>> {
    return this.withRetry(async (attempt) => {
      const targets = this.targets(key);
      const target = targets[Math.min(attempt, targets.length - 1)]!;
      const { statusCode, body } = await this.call(
        target.address,
        'GET',
        `/api/v1/cache/${encodeURIComponent(key)}`,
      );
      this.check(statusCode, body, true);
      const result = body as { found: boolean; value: T; node_id: string };
      this.countRoute(target.nodeId, result.node_id);
      return { found: result.found, value: result.found ? result.value : undefined, nodeId: result.node_id };
    });
  }

  async set(key: string, value: unknown, options: { ttlSeconds?: number } = {}): Promise<{ nodeId: string }> {
    return this.withRetry(async () => {
      const target = this.targets(key)[0]!;
      const payload =
        options.ttlSeconds === undefined ? { value } : { value, ttl_seconds: options.ttlSeconds };
      const { statusCode, body } = await this.call(
        target.address,
        'PUT',
        `/api/v1/cache/${encodeURIComponent(key)}`,
        payload,
      );
      this.check(statusCode, body);
      const nodeId = (body as { node_id: string }).node_id;
      this.countRoute(target.nodeId, nodeId);
      return { nodeId };
    });
  }

  async delete(key: string): Promise<void> {
    await this.withRetry(async () => {
      const target = this.targets(key)[0]!;
      const { statusCode, body } = await this.call(
        target.address,
        'DELETE',
        `/api/v1/cache/${encodeURIComponent(key)}`,
      );
      this.check(statusCode, body);
      this.countRoute(target.nodeId, (body as { node_id: string }).node_id);
    });
  }

  private groupByOwner(keys: readonly string[]): Map<string, { address: string; indexes: number[] }> {
    const groups = new Map<string, { address: string; indexes: number[] }>();
    for (const [index, key] of keys.entries()) {
      const target = this.targets(key)[0]!;
      let group = groups.get(target.nodeId);
      if (group === undefined) {
        group = { address: target.address, indexes: [] };
        groups.set(target.nodeId, group);
      }
      group.indexes.push(index);
    }
    return groups;
  }

  /** One request per owner node, in parallel. Missing keys are absent from the map. */
  async batchGet<T = unknown>(keys: readonly string[]): Promise<Map<string, T>> {
    return this.withRetry(async () => {
      const found = new Map<string, T>();
      await Promise.all(
        [...this.groupByOwner(keys)].map(async ([nodeId, group]) => {
          const { statusCode, body } = await this.call(group.address, 'POST', '/api/v1/cache/batch/get', {
            keys: group.indexes.map((index) => keys[index]),
          });
          this.check(statusCode, body);
          for (const result of (
            body as { results: Array<{ key: string; value: T; found: boolean; node_id: string }> }
          ).results) {
            this.countRoute(nodeId, result.node_id);
            if (result.found) found.set(result.key, result.value);
          }
        }),
      );
      return found;
    });
  }

  /** One request per owner node, in parallel. */
  async batchSet(
    entries: Iterable<[string, unknown]> | Record<string, unknown>,
    options: { ttlSeconds?: number } = {},
  ) {
    const list =
      Symbol.iterator in Object(entries)
        ? [...(entries as Iterable<[string, unknown]>)]
        : Object.entries(entries);
    const keys = list.map(([key]) => key);
    await this.withRetry(async () => {
      await Promise.all(
        [...this.groupByOwner(keys)].map(async ([nodeId, group]) => {
          const items = group.indexes.map((index) => {
            const [key, value] = list[index]!;
            return options.ttlSeconds === undefined
              ? { key, value }
              : { key, value, ttl_seconds: options.ttlSeconds };
          });
          const { statusCode, body } = await this.call(group.address, 'POST', '/api/v1/cache/batch/set', {
            items,
          });
          this.check(statusCode, body);
          for (const result of (body as { results: Array<{ node_id: string }> }).results) {
            this.countRoute(nodeId, result.node_id);
          }
        }),
      );
    });
  }

  async batchDelete(keys: readonly string[]): Promise<void> {
    await this.withRetry(async () => {
      await Promise.all(
        [...this.groupByOwner(keys)].map(async ([, group]) => {
          const { statusCode, body } = await this.call(group.address, 'POST', '/api/v1/cache/batch/delete', {
            keys: group.indexes.map((index) => keys[index]),
          });
          this.check(statusCode, body);
        }),
      );
    });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.agent.close();
  }
}
