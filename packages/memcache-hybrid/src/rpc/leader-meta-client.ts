import { type Clock, SYSTEM_CLOCK, sleep } from '@kvforge/runtime';
import { MMC } from '../core/codes';
import { MetaRpcClient } from './meta-rpc-client';
import { RPC_OPCODE, type RpcOpcode } from './rpc-protocol';

/** `ock.mmc.meta_service_url` / `--meta` may list several meta services: `tcp://a:5000,tcp://b:5000`. */
export function splitMetaUrls(urls: string): string[] {
  return urls
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== '');
}

/**
 * Connects to the meta service that serves: each URL is pinged; a standby's NOT_LEADER reply names the
 * leader, which is tried next. Sweeps again (100 ms apart) until `timeoutMs` — a failover in progress.
 */
export async function connectToLeader(
  urls: readonly string[],
  options: { timeoutMs: number; clock?: Clock },
): Promise<MetaRpcClient> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const deadline = clock.now() + options.timeoutMs;
  let lastError: Error = new Error('no meta service URL');
  for (;;) {
    const queue = [...urls];
    const tried = new Set<string>();
    while (queue.length > 0) {
      const url = queue.shift() as string;
      if (tried.has(url)) continue;
      tried.add(url);
      let client: MetaRpcClient | undefined;
      try {
        client = await MetaRpcClient.connect(url);
        const [result, leader] = await client.ping();
        if (result === MMC.OK) return client;
        await client.close();
        lastError = new Error(`${url} is not the leader`);
        if (typeof leader === 'string') queue.unshift(leader);
      } catch (error) {
        await client?.close().catch(() => undefined);
        lastError = error as Error;
      }
    }
    if (clock.now() >= deadline) {
      throw new Error(`no serving meta service at ${urls.join(',')}: ${lastError.message}`);
    }
    await sleep(100, { clock });
  }
}

// Calls whose repetition cannot change stored objects (a read lease at most): retried on the new leader
// when the link dropped mid-call.
const READ_ONLY = new Set<number>([
  RPC_OPCODE.PING,
  RPC_OPCODE.GET,
  RPC_OPCODE.BATCH_GET,
  RPC_OPCODE.GET_REPLICAS,
  RPC_OPCODE.BATCH_GET_REPLICAS,
  RPC_OPCODE.QUERY,
  RPC_OPCODE.BATCH_QUERY,
  RPC_OPCODE.EXIST_KEY,
  RPC_OPCODE.BATCH_EXIST_KEY,
  RPC_OPCODE.GET_ALL_KEYS,
  RPC_OPCODE.LIST_LOCAL_SERVICES,
]);

/**
 * A meta RPC client that follows the HA leader. A NOT_LEADER reply (the request was not executed) is
 * always retried on the leader; a link lost mid-call is retried only for read-only calls — a write's
 * outcome is unknown, so it fails to the caller (a put then fails cleanly: the new leader never saw its
 * alloc, so its commit is refused).
 */
export class LeaderMetaClient {
  private current: Promise<MetaRpcClient> | undefined;
  private closed = false;

  private constructor(
    private readonly urls: readonly string[],
    private readonly failoverTimeoutMs: number,
    first: MetaRpcClient,
  ) {
    this.current = Promise.resolve(first);
  }

  static async connect(url: string, failoverTimeoutMs = 30_000): Promise<LeaderMetaClient> {
    const urls = splitMetaUrls(url);
    // A single URL keeps the old behaviour at connect: one attempt.
    const first = await connectToLeader(urls, { timeoutMs: urls.length > 1 ? failoverTimeoutMs : 0 });
    return new LeaderMetaClient(urls, failoverTimeoutMs, first);
  }

  async call(opcode: RpcOpcode, body: unknown = null): Promise<unknown[]> {
    const deadline = Date.now() + this.failoverTimeoutMs;
    for (;;) {
      const connection = this.connection();
      const client = await connection;
      if (!client.connected) {
        // Lost before this call was sent (an idle link the old leader closed): nothing to be unsure of.
        this.drop(connection);
        continue;
      }
      try {
        const reply = await client.call(opcode, body);
        if (reply[0] !== MMC.NOT_LEADER || Date.now() >= deadline) return reply;
      } catch (error) {
        if (!READ_ONLY.has(opcode) || Date.now() >= deadline || this.closed) {
          this.drop(connection);
          throw error;
        }
      }
      this.drop(connection);
    }
  }

  updateState(key: string, rank: number, medium: number, action: number) {
    return this.call(RPC_OPCODE.UPDATE_STATE, [key, rank, medium, action]);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = await this.current?.catch(() => undefined);
    await client?.close();
  }

  private connection(): Promise<MetaRpcClient> {
    if (this.closed) return Promise.reject(new Error('meta client closed'));
    this.current ??= connectToLeader(this.urls, { timeoutMs: this.failoverTimeoutMs });
    const current = this.current;
    current.catch(() => {
      if (this.current === current) this.current = undefined;
    });
    return current;
  }

  private drop(connection: Promise<MetaRpcClient>): void {
    if (this.current !== connection) return;
    this.current = undefined;
    void connection.then((client) => client.close()).catch(() => undefined);
  }
}
