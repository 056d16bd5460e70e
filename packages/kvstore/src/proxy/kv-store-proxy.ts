import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { encodeCommand, RequestScanner, RespProtocolError, RespWriter } from '@kvforge/resp';
import { parseAddress } from '../core/address';
import type { BucketTable } from '../core/bucket-table';
import { COMMAND_KINDS, type CommandSpec, CommandTable, MERGE_KINDS } from '../core/command-table';
import { REDIS_COMMAND_VERSION } from '../core/command-table.generated';
import type { KeyRewriter } from '../core/key-rewrite';
import { BackendConnection, type BackendEvents } from './backend-connection';
import { ClientConnection } from './client-connection';
import { KeyPlacement } from './key-placement';
import { NOT_SUPPORTED, runLocalCommand } from './local-commands';
import { mergeReplies } from './merge-replies';
import { writeMigrateHeader } from './migrate-command';
import { DEFAULT_PROXY_RUNTIME_CONFIG, type ProxyRuntimeConfig } from './proxy-config';
import { ProxyStats } from './proxy-stats';
import { QpsLimiter } from './qps-limiter';
import { ReplySlot } from './reply-slot';

export interface ProxyLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface KvStoreProxyOptions {
  namespace: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Password clients must send with AUTH/HELLO; empty = none. @default '' */
  password?: string;
  config?: Partial<ProxyRuntimeConfig>;
  logger?: ProxyLogger;
  /** A client with more unanswered requests stops being read until it drains. @default 8192 */
  maxPendingPerClient?: number;
  /** An incomplete request larger than this closes the client (Redis: client-query-buffer-limit). @default 64 MiB */
  maxQueryBufferBytes?: number;
}

export const DEFAULT_KV_STORE_PROXY_OPTIONS = {
  host: '127.0.0.1',
  password: '',
  maxPendingPerClient: 8192,
  maxQueryBufferBytes: 64 * 1024 * 1024,
};

const MIGRATE_TIMEOUT_MS = 5000;
const EARLY_FLUSH_BYTES = 32 * 1024;
const ERROR_PROTOCOL = Buffer.from('-ERR parse redis protocol failed\r\n');
const ERROR_QPS = Buffer.from('-ERR reach qps limit\r\n');
const ERROR_MAX_CLIENTS = Buffer.from('-ERR reach max number of clients\r\n');
const ERROR_TIMEOUT = Buffer.from('-ERR request timeout\r\n');
const ERROR_NOAUTH = Buffer.from('-NOAUTH Authentication required.\r\n');
const ERROR_NO_TABLE = Buffer.from('-ERR no bucket table\r\n');
const ASTERISK = 0x2a;
const NO_AUTH_NEEDED = new Set(['AUTH', 'HELLO', 'QUIT']);
const SILENT_LOGGER: ProxyLogger = { info() {}, warn() {} };

/**
 * KvStoreProxy: a RESP server that routes each key to `murmur2(key) % bucket_count` → Redis master
 * and stores it as `<bucket>_<key>`. Raw bytes are forwarded with only the key rewritten; requests are
 * batched per backend per turn; replies return in request order per client.
 */
export class KvStoreProxy implements BackendEvents {
  readonly namespace: string;
  readonly commands = new CommandTable();
  readonly stats: ProxyStats;
  private readonly placement = new KeyPlacement();
  readonly config: ProxyRuntimeConfig;
  private readonly options: typeof DEFAULT_KV_STORE_PROXY_OPTIONS & KvStoreProxyOptions;
  private readonly logger: ProxyLogger;
  private readonly server: Server;
  private readonly inlineScanner = new RequestScanner();
  /** Builds requests that must wait (behind a MIGRATE) before they go to their backend. */
  private readonly scratch = new RespWriter();
  private readonly limiter: QpsLimiter;
  private table: BucketTable | undefined;
  private bucketBackends: BackendConnection[] = [];
  private readonly backends = new Map<string, BackendConnection>();
  private readonly clients = new Set<ClientConnection>();
  private nextClientId = 1;
  private dirtyClients: ClientConnection[] = [];
  private dirtyBackends: BackendConnection[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastTick = performance.now();
  /** Cached per read event: one clock read per batch. */
  private now = performance.now();
  private listening = false;
  private flushScheduled = false;

  constructor(options: KvStoreProxyOptions) {
    this.options = { ...DEFAULT_KV_STORE_PROXY_OPTIONS, ...options };
    this.namespace = options.namespace;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.config = { ...DEFAULT_PROXY_RUNTIME_CONFIG, ...options.config };
    this.stats = new ProxyStats(this.commands);
    this.limiter = new QpsLimiter(this.config.max_qps);
    this.server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
  }

  /** Logical-delete patterns (the del/add_key_patten endpoints). */
  get keyRewriter(): KeyRewriter {
    return this.placement.keyRewriter;
  }

  get tableVersion(): number {
    return this.table?.version ?? 0;
  }

  get currentTable(): BucketTable | undefined {
    return this.table;
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
    if (this.table && this.table.version === table.version) return false;
    const previous = this.table;
    this.table = table;
    this.placement.setBucketCount(table.owners.length);
    const used = new Set(table.owners);
    if (table.migratingServerAddr) used.add(table.migratingServerAddr);
    for (const address of used) {
      if (!this.backends.has(address)) {
        this.backends.set(
          address,
          new BackendConnection({ address, password: this.config.redis_password, events: this }),
        );
      }
    }
    this.bucketBackends = table.owners.map((address) => this.backends.get(address)!);
    for (const [address, backend] of this.backends) {
      if (!used.has(address)) {
        this.backends.delete(address);
        this.retire(backend);
      }
    }
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
        this.timer = setInterval(() => this.onTick(), 250);
        this.timer.unref();
        resolve(this.address);
      });
    });
  }

  /** Stops accepting, lets pending replies go out, closes clients and backends. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const closed = this.listening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : Promise.resolve();
    for (const client of this.clients) client.socket.end();
    const deadline = Date.now() + 2000;
    while ([...this.backends.values()].some((backend) => backend.pendingCount > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const client of this.clients) client.socket.destroy();
    for (const backend of this.backends.values()) backend.close();
    this.backends.clear();
    await closed;
  }

  info(section: string): string {
    const lines = [
      '# Server',
      `redis_version:${REDIS_COMMAND_VERSION}`,
      'redis_mode:standalone',
      'kvstore_proxy:1',
      `namespace:${this.namespace}`,
      `tcp_port:${this.listening ? this.address.port : 0}`,
      `uptime_in_seconds:${Math.floor(process.uptime())}`,
      '',
      '# Clients',
      `connected_clients:${this.clients.size}`,
      `maxclients:${this.config.max_client_num}`,
      '',
      '# Stats',
      `total_commands_processed:${this.stats.totalCommands}`,
      `instantaneous_ops_per_sec:${this.stats.qps}`,
      `slow_commands:${this.stats.slowCommands}`,
      '',
      '# Proxy',
      `bucket_table_version:${this.tableVersion}`,
      `bucket_count:${this.table?.owners.length ?? 0}`,
      `backends:${[...this.backends.values()].map((backend) => `${backend.address}=${backend.state}`).join(',')}`,
      '',
    ];
    if (section !== 'default' && section !== 'all' && section !== 'everything') {
      const wanted = section.toLowerCase();
      const filtered: string[] = [];
      let keep = false;
      for (const line of lines) {
        if (line.startsWith('# ')) keep = line.slice(2).toLowerCase() === wanted;
        if (keep) filtered.push(line);
      }
      return filtered.join('\r\n');
    }
    return lines.join('\r\n');
  }

  // ---- BackendEvents ----

  deliver(slot: ReplySlot, part: number, reply: Buffer, isError: boolean): void {
    const followUp = slot.followUp;
    if (followUp) {
      if (isError) this.deliver(followUp.target, followUp.part, reply, true);
      else {
        const backend = followUp.backend as BackendConnection;
        if (!backend.accepting)
          this.deliver(followUp.target, followUp.part, BackendConnection.downError, true);
        else {
          backend.output.writeRaw(followUp.request);
          backend.expect(followUp.target, followUp.part);
          this.markBackend(backend);
        }
      }
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
    this.flushClients();
    if (this.dirtyBackends.length > 0) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushAll);
  }

  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    this.flushBackends();
    this.flushClients();
  };

  log(level: 'info' | 'warn', message: string, details: Record<string, unknown>): void {
    this.logger[level](details, message);
  }

  // ---- clients ----

  private onConnection(socket: Socket): void {
    if (this.clients.size >= this.config.max_client_num) {
      this.stats.rejectedClients++;
      socket.end(ERROR_MAX_CLIENTS);
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
    socket.on('drain', () => {
      if (client.paused && client.slots.length < this.options.maxPendingPerClient) {
        client.paused = false;
        socket.resume();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.clients.delete(client);
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
      if (scanner.argumentCount > 0) this.dispatch(client, buffer, start, requestEnd, scanner);
      start = requestEnd;
    }
    if (client.closing) input.clear();
    else {
      input.consumeTo(start);
      if (input.length > this.options.maxQueryBufferBytes) this.protocolError(client);
    }
    // Backend writes of every client read in this loop iteration go out together (setImmediate runs
    // after the poll phase): one write per backend per turn, even with many unpipelined clients.
    this.scheduleFlush();
    if (client.slots.length >= this.options.maxPendingPerClient && !client.paused) {
      client.paused = true;
      client.socket.pause();
    }
  }

  private protocolError(client: ClientConnection): void {
    const slot = new ReplySlot(client, this.commands.unknown.id, this.now);
    slot.complete(ERROR_PROTOCOL, true);
    slot.closeAfter = true;
    this.push(client, slot);
    client.input.clear();
    client.closing = true;
  }

  private push(client: ClientConnection, slot: ReplySlot): void {
    client.slots.push(slot);
    if (slot.done && !client.dirty) {
      client.dirty = true;
      this.dirtyClients.push(client);
    }
  }

  private answer(client: ClientConnection, spec: CommandSpec, reply: Buffer, isError: boolean): void {
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
    const client = slot.client;
    if (!client.dirty && !client.closing) {
      client.dirty = true;
      this.dirtyClients.push(client);
    }
  }

  private flushClients(): void {
    const clients = this.dirtyClients;
    if (clients.length === 0) return;
    this.dirtyClients = [];
    for (const client of clients) {
      client.flush();
      if (
        client.paused &&
        client.slots.length < this.options.maxPendingPerClient / 2 &&
        client.socket.writableLength < 16 * 1024 * 1024
      ) {
        client.paused = false;
        client.socket.resume();
      } else if (!client.paused && client.socket.writableLength >= 16 * 1024 * 1024) {
        // A client that does not read its replies stops being read (bounded memory).
        client.paused = true;
        client.socket.pause();
      }
    }
  }

  private flushBackends(): void {
    const backends = this.dirtyBackends;
    if (backends.length === 0) return;
    this.dirtyBackends = [];
    for (const backend of backends) backend.flush();
  }

  private markBackend(backend: BackendConnection): void {
    if (!backend.dirty) {
      backend.dirty = true;
      this.dirtyBackends.push(backend);
    }
    // A large batch goes out early: it is already one big write, and it bounds the memory one
    // backend's batch can hold within a turn.
    if (backend.output.length >= EARLY_FLUSH_BYTES) backend.flush();
  }

  // ---- routing ----

  private dispatch(
    client: ClientConnection,
    buffer: Buffer,
    start: number,
    end: number,
    scanner: RequestScanner,
  ): void {
    if (buffer[start] !== ASTERISK) {
      this.dispatchInline(client, buffer, scanner);
      return;
    }
    const argc = scanner.argumentCount;
    const starts = scanner.argumentStarts;
    const ends = scanner.argumentEnds;
    const spec =
      this.commands.lookup(buffer.toString('latin1', starts[0]!, ends[0]!)) ?? this.commands.unknown;
    if (!client.authenticated && !NO_AUTH_NEEDED.has(spec.name)) {
      this.answer(client, spec, ERROR_NOAUTH, true);
      return;
    }
    if (spec.kind === COMMAND_KINDS.UNSUPPORTED) {
      this.answer(client, spec, NOT_SUPPORTED, true);
      return;
    }
    if (spec.arity > 0 ? argc !== spec.arity : argc < -spec.arity) {
      this.answer(
        client,
        spec,
        Buffer.from(`-ERR wrong number of arguments for '${spec.name.toLowerCase()}' command\r\n`),
        true,
      );
      return;
    }
    if (!this.limiter.tryAcquire(this.now)) {
      this.stats.rejectedQps++;
      this.answer(client, spec, ERROR_QPS, true);
      return;
    }
    if (spec.kind === COMMAND_KINDS.LOCAL) {
      const args: Buffer[] = [];
      for (let index = 0; index < argc; index++) args.push(buffer.subarray(starts[index]!, ends[index]!));
      const local = runLocalCommand(spec.name, args, client, {
        password: this.options.password,
        info: (section) => this.info(section),
        commandCount: this.commands.commands.length - 1,
      });
      const slot = new ReplySlot(client, spec.id, this.now);
      slot.complete(local.reply, local.isError);
      slot.closeAfter = local.closeAfter === true;
      this.stats.record(spec.id, 0, this.config.slow_cmd_time * 1000, local.isError);
      this.push(client, slot);
      if (slot.closeAfter) client.closing = true;
      return;
    }
    const table = this.table;
    if (!table) {
      this.answer(client, spec, ERROR_NO_TABLE, true);
      return;
    }
    if (spec.kind === COMMAND_KINDS.SINGLE_KEY) {
      if (spec.oneKeyOnly && argc !== 2) {
        this.answer(client, spec, NOT_SUPPORTED, true);
        return;
      }
      this.routeSingle(client, spec, buffer, start, end, scanner, table);
      return;
    }
    if (spec.kind === COMMAND_KINDS.SPLIT) {
      if ((argc - 1) % spec.step !== 0) {
        this.answer(
          client,
          spec,
          Buffer.from(`-ERR wrong number of arguments for '${spec.name.toLowerCase()}' command\r\n`),
          true,
        );
        return;
      }
      this.routeSplit(client, spec, buffer, scanner);
      return;
    }
    this.routeBroadcast(client, spec);
  }

  /** An inline command (`PING\r\n`) is re-encoded as a multibulk and dispatched as one. */
  private dispatchInline(client: ClientConnection, buffer: Buffer, scanner: RequestScanner): void {
    const args: Buffer[] = [];
    for (let index = 0; index < scanner.argumentCount; index++) {
      args.push(buffer.subarray(scanner.argumentStarts[index]!, scanner.argumentEnds[index]!));
    }
    const encoded = encodeCommand(args);
    const inline = this.inlineScanner;
    const end = inline.scan(encoded, 0, encoded.length);
    if (end > 0) this.dispatch(client, encoded, 0, end, inline);
  }

  private routeSingle(
    client: ClientConnection,
    spec: CommandSpec,
    buffer: Buffer,
    start: number,
    end: number,
    scanner: RequestScanner,
    table: BucketTable,
  ): void {
    const starts = scanner.argumentStarts;
    const ends = scanner.argumentEnds;
    const keyStart = starts[1]!;
    const keyEnd = ends[1]!;
    const bucket = this.placement.bucketOf(buffer, keyStart, keyEnd);
    const rewritten = this.placement.rewritten;
    const migrating = bucket === table.migratingBucketId;
    const backend = migrating ? this.migrationTarget : this.bucketBackends[bucket]!;
    const source = this.bucketBackends[bucket]!;
    if (!backend?.accepting || (migrating && !source.accepting)) {
      this.stats.backendErrors++;
      this.answer(client, spec, BackendConnection.downError, true);
      return;
    }
    const slot = new ReplySlot(client, spec.id, this.now);
    this.push(client, slot);
    // Header and command name as sent, the rewritten key, then the remaining arguments as sent.
    const writer = migrating ? this.scratch : backend.output;
    writer.writeRaw(buffer, start, ends[0]! + 2);
    this.placement.writeKey(writer, bucket, buffer, keyStart, keyEnd, rewritten);
    writer.writeRaw(buffer, keyEnd + 2, end);
    if (migrating) {
      const request = this.scratch.take();
      this.sendMigrate(source, [{ bucket, start: keyStart, end: keyEnd, rewritten }], buffer, {
        backend,
        request,
        target: slot,
        part: 0,
      });
      return;
    }
    backend.expect(slot, 0);
    this.markBackend(backend);
  }

  /** The destination of the migrating bucket (undefined when none). */
  private get migrationTarget(): BackendConnection | undefined {
    const address = this.table?.migratingServerAddr;
    return address ? this.backends.get(address) : undefined;
  }

  /**
   * Migrate-on-access: `MIGRATE host port "" 0 timeout [AUTH pw] KEYS k…` to the bucket's old owner,
   * and only once it answered (OK, or NOKEY when the keys already moved) the real request goes to the
   * destination — so it never runs before its keys arrived. An error reply fails the request.
   */
  private sendMigrate(
    source: BackendConnection,
    keys: { bucket: number; start: number; end: number; rewritten: Buffer | undefined }[],
    buffer: Buffer,
    followUp: NonNullable<ReplySlot['followUp']>,
  ): void {
    const destination = parseAddress(this.table!.migratingServerAddr)!;
    const writer = source.output;
    writeMigrateHeader(writer, destination, this.config.redis_password, keys.length, MIGRATE_TIMEOUT_MS);
    for (const key of keys)
      this.placement.writeKey(writer, key.bucket, buffer, key.start, key.end, key.rewritten);
    const step = new ReplySlot(followUp.target.client, followUp.target.commandId, this.now);
    step.followUp = followUp;
    source.expect(step, 0);
    this.markBackend(source);
  }

  private routeSplit(
    client: ClientConnection,
    spec: CommandSpec,
    buffer: Buffer,
    scanner: RequestScanner,
  ): void {
    const table = this.table!;
    const argc = scanner.argumentCount;
    const starts = scanner.argumentStarts;
    const ends = scanner.argumentEnds;
    const step = spec.step;
    const keyCount = (argc - 1) / step;
    const groups = new Map<
      BackendConnection,
      { bucket: number; index: number; rewritten: Buffer | undefined }[]
    >();
    // Keys of a migrating bucket go to its destination, after a MIGRATE of those keys from the old owner.
    let migratingKeys:
      | { bucket: number; start: number; end: number; rewritten: Buffer | undefined }[]
      | undefined;
    for (let ordinal = 0; ordinal < keyCount; ordinal++) {
      const index = 1 + ordinal * step;
      const bucket = this.placement.bucketOf(buffer, starts[index]!, ends[index]!);
      const key = this.placement.rewritten;
      const migrating = bucket === table.migratingBucketId;
      const backend = migrating ? this.migrationTarget : this.bucketBackends[bucket]!;
      if (migrating) {
        migratingKeys ??= [];
        migratingKeys.push({ bucket, start: starts[index]!, end: ends[index]!, rewritten: key });
      }
      if (!backend?.accepting || (migrating && !this.bucketBackends[bucket]!.accepting)) {
        this.stats.backendErrors++;
        this.answer(client, spec, BackendConnection.downError, true);
        return;
      }
      let group = groups.get(backend);
      if (!group) {
        group = [];
        groups.set(backend, group);
      }
      group.push({ bucket, index, rewritten: key });
    }
    const slot = new ReplySlot(client, spec.id, this.now);
    slot.merge = spec.merge;
    slot.pendingParts = groups.size;
    slot.keyCount = keyCount;
    slot.partReplies = new Array(groups.size);
    if (spec.merge === MERGE_KINDS.ARRAY) slot.partIndexes = [];
    this.push(client, slot);
    const name = buffer.subarray(starts[0]!, ends[0]!);
    let part = 0;
    const migrationTarget = migratingKeys ? this.migrationTarget : undefined;
    for (const [backend, keys] of groups) {
      const deferred = backend === migrationTarget;
      const writer = deferred ? this.scratch : backend.output;
      writer.writeArrayHeader(1 + keys.length * step);
      writer.writeBulk(name);
      for (const { bucket, index, rewritten } of keys) {
        this.placement.writeKey(writer, bucket, buffer, starts[index]!, ends[index]!, rewritten);
        // MSET: the value follows its key as sent (header, bytes, CRLF).
        for (let extra = 1; extra < step; extra++) {
          const valueIndex = index + extra;
          writer.writeRaw(buffer, ends[valueIndex - 1]! + 2, ends[valueIndex]! + 2);
        }
      }
      if (slot.partIndexes) slot.partIndexes.push(keys.map(({ index }) => (index - 1) / step));
      if (deferred) {
        const source = this.bucketBackends[table.migratingBucketId]!;
        this.sendMigrate(source, migratingKeys!, buffer, {
          backend,
          request: this.scratch.take(),
          target: slot,
          part,
        });
      } else {
        backend.expect(slot, part);
        this.markBackend(backend);
      }
      part++;
    }
  }

  private routeBroadcast(client: ClientConnection, spec: CommandSpec): void {
    const migrationTarget = this.migrationTarget;
    const targets = [
      ...new Set(migrationTarget ? [...this.bucketBackends, migrationTarget] : this.bucketBackends),
    ];
    if (targets.some((backend) => !backend.accepting)) {
      this.stats.backendErrors++;
      this.answer(client, spec, BackendConnection.downError, true);
      return;
    }
    const slot = new ReplySlot(client, spec.id, this.now);
    slot.merge = MERGE_KINDS.SUM;
    slot.pendingParts = targets.length;
    slot.partReplies = new Array(targets.length);
    this.push(client, slot);
    targets.forEach((backend, part) => {
      backend.output.writeCommand([spec.name]);
      backend.expect(slot, part);
      this.markBackend(backend);
    });
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
    this.flushClients();
  }
}
