import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RespProtocolError } from '@kvforge/resp';
import { type Logger, pollUntil, SILENT_LOGGER } from '@kvforge/runtime';
import type { BucketTable } from '../core/bucket-table';
import { type CommandSpec, CommandTable, MERGE_KINDS } from '../core/command-table';
import type { KeyRewriter } from '../core/key-rewrite';
import { BackendConnection, type BackendEvents } from './backend-connection';
import { ClientConnection } from './client-connection';
import { mergeReplies } from './merge-replies';
import { continueAfterMigrate } from './migrate-on-access';
import { DEFAULT_PROXY_RUNTIME_CONFIG, type ProxyRuntimeConfig } from './proxy-config';
import { renderInfo } from './proxy-info';
import { ProxyStats } from './proxy-stats';
import { QpsLimiter } from './qps-limiter';
import { ReplySlot } from './reply-slot';
import { RequestDispatcher } from './request-dispatcher';
import { backendKey, RequestRouter, type RouterHost } from './request-router';
import { WriteScheduler } from './write-scheduler';

export interface KvStoreProxyOptions {
  namespace: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Password clients must send with AUTH/HELLO; empty = none. @default '' */
  password?: string;
  config?: Partial<ProxyRuntimeConfig>;
  logger?: Logger;
  /** A client with more unanswered requests stops being read until it drains. @default 8192 */
  maxPendingPerClient?: number;
  /** An incomplete request larger than this closes the client (Redis: client-query-buffer-limit). @default 64 MiB */
  maxQueryBufferBytes?: number;
  /**
   * The primary of a `--threads N` proxy: it holds the table, config and patterns for the HTTP API
   * while its workers serve clients, so it opens no backend connections.
   */
  controlOnly?: boolean;
  /** Called when a client connection closes (a worker tells its primary, which counts clients). */
  onClientClose?: () => void;
}

export const DEFAULT_KV_STORE_PROXY_OPTIONS = {
  host: '127.0.0.1',
  password: '',
  maxPendingPerClient: 8192,
  maxQueryBufferBytes: 64 * 1024 * 1024,
};

const ERROR_PROTOCOL = Buffer.from('-ERR parse redis protocol failed\r\n');
const ERROR_MAX_CLIENTS = Buffer.from('-ERR reach max number of clients\r\n');
const ERROR_TIMEOUT = Buffer.from('-ERR request timeout\r\n');

/**
 * KvStoreProxy: a RESP server that routes each key to `murmur2(key) % bucket_count` → Redis master
 * and stores it as `<bucket>_<key>`. Raw bytes are forwarded with only the key rewritten; requests are
 * batched per backend per turn; replies return in request order per client.
 */
export class KvStoreProxy implements BackendEvents, RouterHost {
  readonly namespace: string;
  readonly commands = new CommandTable();
  readonly stats: ProxyStats;
  readonly config: ProxyRuntimeConfig;
  private readonly options: typeof DEFAULT_KV_STORE_PROXY_OPTIONS & KvStoreProxyOptions;
  private readonly logger: Logger;
  private readonly server: Server;
  private readonly limiter: QpsLimiter;
  private readonly backends = new Map<string, BackendConnection>();
  private readonly router: RequestRouter;
  private readonly dispatcher: RequestDispatcher;
  private readonly writes: WriteScheduler;
  private readonly clients = new Set<ClientConnection>();
  private nextClientId = 1;
  private timer: NodeJS.Timeout | undefined;
  private lastTick = performance.now();
  /** Cached per read event: one clock read per batch. */
  now = performance.now();
  private listening = false;

  constructor(options: KvStoreProxyOptions) {
    this.options = { ...DEFAULT_KV_STORE_PROXY_OPTIONS, ...options };
    this.namespace = options.namespace;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.config = { ...DEFAULT_PROXY_RUNTIME_CONFIG, ...options.config };
    this.stats = new ProxyStats(this.commands);
    this.limiter = new QpsLimiter(this.config.max_qps);
    this.router = new RequestRouter(this, this.backends);
    this.dispatcher = new RequestDispatcher(this, this.router, this.limiter, this.options.password);
    this.writes = new WriteScheduler(this.options.maxPendingPerClient);
    this.server = createServer({ noDelay: true }, (socket) => this.acceptConnection(socket));
  }

  /** Logical-delete patterns (the del/add_key_patten endpoints). */
  get keyRewriter(): KeyRewriter {
    return this.router.placement.keyRewriter;
  }

  get tableVersion(): number {
    return this.router.table?.version ?? 0;
  }

  get currentTable(): BucketTable | undefined {
    return this.router.table;
  }

  /** Requests held so far because they touched a big key in flight (tests, diagnostics). */
  get bigKeyHolds(): number {
    return this.router.bigKeyHold.totalHeld;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get address(): { host: string; port: number } {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('proxy is not listening');
    return { host: address.address, port: address.port };
  }

  /** Installs a table; a version the proxy already has is ignored. Returns true when applied. */
  setTable(table: BucketTable): boolean {
    const router = this.router;
    if (router.table && router.table.version === table.version && router.table.epoch === table.epoch) {
      return false;
    }
    const previous = router.table;
    router.table = table;
    router.placement.setBucketCount(table.owners.length);
    if (this.options.controlOnly) return true;
    const used = new Set(table.owners);
    if (table.migratingServerAddr) used.add(table.migratingServerAddr);
    // One multiplexed pool per protocol: RESP3 clients get RESP3 replies (maps, doubles, nulls) as
    // the backend sends them, still forwarded as raw bytes.
    const wanted = new Set<string>();
    for (const address of used) {
      for (const protocol of [2, 3] as const) {
        const key = backendKey(address, protocol);
        wanted.add(key);
        if (!this.backends.has(key)) {
          this.backends.set(
            key,
            new BackendConnection({ address, password: this.config.redis_password, events: this, protocol }),
          );
        }
      }
    }
    router.bucketBackends = table.owners.map((address) => this.backends.get(backendKey(address, 2))!);
    router.bucketBackends3 = table.owners.map((address) => this.backends.get(backendKey(address, 3))!);
    for (const [key, backend] of this.backends) {
      if (!wanted.has(key)) {
        this.backends.delete(key);
        this.retire(backend);
      }
    }
    // After the backends: requests held for a big key that is no longer in flight go out now.
    router.bigKeyHold.update(table);
    this.logger.info(
      { namespace: this.namespace, version: table.version, previousVersion: previous?.version },
      'bucket table installed',
    );
    return true;
  }

  /** Applies a runtime config change (set_config). */
  updateConfig(update: Partial<ProxyRuntimeConfig>): void {
    Object.assign(this.config, update);
    this.limiter.maxQps = this.config.max_qps;
    if (update.redis_password !== undefined) {
      for (const backend of this.backends.values()) backend.setPassword(update.redis_password);
    }
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        this.listening = true;
        this.serve();
        resolve(this.address);
      });
    });
  }

  /** Starts the timers (stats window, timeouts) without a listener: a worker gets its sockets handed in. */
  serve(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.onTick(), 250);
    this.timer.unref();
  }

  /** Stops accepting, lets pending replies go out, closes clients and backends. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const closed = this.listening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : Promise.resolve();
    for (const client of this.clients) client.socket.end();
    // Pending replies get up to 2 s to arrive; after that the backends are closed regardless.
    await pollUntil(() => [...this.backends.values()].every((backend) => backend.pendingCount === 0), {
      timeoutMs: 2000,
      intervalMs: 10,
    }).catch(() => undefined);
    for (const client of this.clients) client.socket.destroy();
    for (const backend of this.backends.values()) backend.close();
    this.backends.clear();
    await closed;
  }

  info(section: string): string {
    return renderInfo(section, {
      namespace: this.namespace,
      port: this.listening ? this.address.port : 0,
      clients: this.clients.size,
      maxClients: this.config.max_client_num,
      stats: this.stats,
      tableVersion: this.tableVersion,
      bucketCount: this.router.table?.owners.length ?? 0,
      backends: this.backends.values(),
    });
  }

  // ---- BackendEvents ----

  deliver(slot: ReplySlot, part: number, reply: Buffer, isError: boolean): void {
    const followUp = slot.followUp;
    if (followUp) {
      continueAfterMigrate(this, followUp, reply, isError);
      return;
    }
    if (slot.abandoned) return;
    if (slot.merge === MERGE_KINDS.NONE) {
      this.complete(slot, reply, isError);
      return;
    }
    slot.partReplies![part] = reply;
    if (--slot.pendingParts === 0) {
      const merged = mergeReplies(slot);
      this.complete(slot, merged.reply, merged.isError);
    }
  }

  fail(slot: ReplySlot, part: number, error: Buffer): void {
    this.stats.backendErrors++;
    if (error === ERROR_TIMEOUT) this.stats.requestTimeouts++;
    this.deliver(slot, part, error, true);
  }

  afterRead(): void {
    this.now = performance.now();
    this.writes.flushClients();
    if (this.writes.hasDirtyBackends) this.writes.schedule();
  }

  log(level: 'info' | 'warn', message: string, details: Record<string, unknown>): void {
    this.logger[level](details, message);
  }

  // ---- clients ----

  /** Serves one client connection (the listener's, or a socket a worker was handed). */
  acceptConnection(socket: Socket): void {
    if (this.clients.size >= this.config.max_client_num) {
      this.stats.rejectedClients++;
      socket.end(ERROR_MAX_CLIENTS);
      this.options.onClientClose?.();
      return;
    }
    const client = new ClientConnection(
      this.nextClientId++,
      socket,
      this.options.password.length > 0,
      Date.now(),
    );
    this.clients.add(client);
    socket.on('data', (chunk: Buffer) => this.onClientData(client, chunk));
    socket.on('drain', () => this.writes.onDrain(client));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.clients.delete(client);
      this.options.onClientClose?.();
      client.closing = true;
      // Replies still on their way are dropped when they arrive.
      for (let slot = client.slots.shift(); slot; slot = client.slots.shift()) slot.abandoned = true;
    });
  }

  private onClientData(client: ClientConnection, chunk: Buffer): void {
    if (client.closing) return;
    this.now = performance.now();
    client.lastActive = Date.now();
    const input = client.input;
    input.append(chunk);
    const buffer = input.buffer;
    let start = input.start;
    const end = input.end;
    const scanner = client.scanner;
    while (start < end && !client.closing) {
      let requestEnd: number;
      try {
        requestEnd = scanner.scan(buffer, start, end);
      } catch (error) {
        if (!(error instanceof RespProtocolError)) throw error;
        this.protocolError(client);
        break;
      }
      if (requestEnd < 0) break;
      if (scanner.argumentCount > 0) this.dispatcher.dispatch(client, buffer, start, requestEnd, scanner);
      start = requestEnd;
    }
    if (client.closing) input.clear();
    else {
      input.consumeTo(start);
      if (input.length > this.options.maxQueryBufferBytes) this.protocolError(client);
    }
    this.writes.schedule();
    this.writes.throttle(client);
  }

  private protocolError(client: ClientConnection): void {
    const slot = new ReplySlot(client, this.commands.unknown.id, this.now);
    slot.complete(ERROR_PROTOCOL, true);
    slot.closeAfter = true;
    this.push(client, slot);
    client.input.clear();
    client.closing = true;
  }

  push(client: ClientConnection, slot: ReplySlot): void {
    client.slots.push(slot);
    if (slot.done) this.writes.markClient(client);
  }

  markBackend(backend: BackendConnection): void {
    this.writes.markBackend(backend);
  }

  answer(client: ClientConnection, spec: CommandSpec, reply: Buffer, isError: boolean): void {
    const slot = new ReplySlot(client, spec.id, this.now);
    slot.complete(reply, isError);
    this.stats.record(spec.id, 0, this.config.slow_cmd_time * 1000, isError);
    this.push(client, slot);
  }

  private complete(slot: ReplySlot, reply: Buffer, isError: boolean): void {
    slot.complete(reply, isError);
    this.stats.record(
      slot.commandId,
      (this.now - slot.startedAt) * 1000,
      this.config.slow_cmd_time * 1000,
      isError,
    );
    if (!slot.client.closing) this.writes.markClient(slot.client);
  }

  /** A backend no longer in the table is closed once its in-flight requests are answered. */
  private retire(backend: BackendConnection): void {
    const check = () => {
      if (backend.pendingCount === 0) backend.close();
      else setTimeout(check, 50).unref();
    };
    check();
  }

  private onTick(): void {
    const now = performance.now();
    if (now - this.lastTick >= 1000) {
      this.stats.tick(now - this.lastTick);
      this.lastTick = now;
    }
    this.now = now;
    const timeoutMs = this.config.request_timeout * 1000;
    if (timeoutMs > 0) {
      for (const backend of this.backends.values()) {
        const oldest = backend.oldestStartedAt();
        // FIFO replies: the head being late means every request behind it waits too; reset the link.
        if (oldest !== undefined && now - oldest > timeoutMs) {
          this.logger.warn({ address: backend.address }, 'request timeout; resetting backend connection');
          backend.reset(ERROR_TIMEOUT);
        }
      }
    }
    const idleMs = this.config.client_timeout * 1000;
    if (idleMs > 0) {
      const wall = Date.now();
      for (const client of this.clients) {
        if (client.slots.length === 0 && wall - client.lastActive > idleMs) client.socket.destroy();
      }
    }
    this.writes.flushClients();
  }
}
