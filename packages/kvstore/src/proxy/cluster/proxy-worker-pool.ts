import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server, type Socket } from 'node:net';
import { type Logger, pollUntil, SILENT_LOGGER } from '@kvforge/runtime';
import type { BucketTable } from '../../core/bucket-table';
import type { ProxyRuntimeConfig } from '../proxy-config';
import {
  isWorkerMessage,
  type PrimaryMessage,
  type WorkerInit,
  type WorkerStatsSnapshot,
  workerMaxQps,
} from './worker-protocol';

export interface ProxyWorkerPoolOptions {
  /** Worker processes (≥ 2; one thread runs no pool at all). */
  threads: number;
  host: string;
  port: number;
  /** The state a (re)started worker begins with; the table is the pool's latest. */
  init: () => Omit<WorkerInit, 'table'>;
  /** max_client_num of the whole proxy, read on every connection. */
  maxClients: () => number;
  /** The module a worker runs (it must call runProxyWorker). @default process.argv[1] (the app's main) */
  workerScript?: string;
  logger?: Logger;
  /** How long a worker may take to answer a stats request. @default 5000 */
  statsTimeoutMs?: number;
}

export interface WorkerStats {
  worker: number;
  pid: number;
  snapshot: WorkerStatsSnapshot;
}

const ERROR_MAX_CLIENTS = Buffer.from('-ERR reach max number of clients\r\n');
const ERROR_NO_WORKER = Buffer.from('-ERR no proxy worker is serving\r\n');

interface WorkerSlot {
  /** 1…threads; a replacement takes the slot of the worker it replaces. */
  readonly index: number;
  readonly worker: Worker;
  /** 'starting' until it installed its init; only serving workers get sockets. */
  state: 'forked' | 'starting' | 'serving';
  clients: number;
  readonly waiters: Map<number, (value: unknown) => void>;
}

/**
 * The primary of a `--threads N` proxy: forks N workers (node:cluster), accepts every client itself
 * (Node 20 has no SO_REUSEPORT) and hands each socket to the next serving worker, round-robin, after
 * checking max_client_num against the clients of all workers. Tables, config and patterns are
 * broadcast in order; `installTable` resolves when every worker that can serve has installed it. A
 * worker that dies is logged and replaced.
 */
export class ProxyWorkerPool {
  private readonly options: ProxyWorkerPoolOptions;
  private readonly logger: Logger;
  private readonly server: Server;
  private readonly slots: WorkerSlot[] = [];
  private latestTable: BucketTable | undefined;
  private nextSocket = 0;
  private nextRequest = 0;
  private stopping = false;
  /** Connections refused at max_client_num by the primary. */
  rejectedClients = 0;
  /** Workers that exited without being asked to (for logs and tests). */
  crashes = 0;

  constructor(options: ProxyWorkerPoolOptions) {
    this.options = options;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) =>
      this.onConnection(socket),
    );
  }

  get clientCount(): number {
    return this.slots.reduce((sum, slot) => sum + slot.clients, 0);
  }

  /** Process ids of the workers, by slot (tests, logs). */
  get workerPids(): number[] {
    return this.slots.map((slot) => slot.worker.process.pid ?? -1);
  }

  /** Forks the workers, waits until each serves, then listens. */
  async start(): Promise<{ host: string; port: number }> {
    if (this.options.workerScript) cluster.setupPrimary({ exec: this.options.workerScript });
    for (let index = 1; index <= this.options.threads; index++) this.fork(index);
    await pollUntil(() => this.slots.every((slot) => slot.state === 'serving'), {
      timeoutMs: 60_000,
      intervalMs: 10,
      description: 'every proxy worker to start',
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('proxy is not listening');
    return { host: address.address, port: address.port };
  }

  /** Resolves once every worker that may serve runs `table`. */
  async installTable(table: BucketTable): Promise<void> {
    this.latestTable = table;
    const id = ++this.nextRequest;
    await Promise.all(
      this.slots
        .filter((slot) => slot.state !== 'forked') // a forked one gets it in its init
        .map((slot) => this.request(slot, { type: 'table', id, table }, id)),
    );
  }

  /** set_config: every worker applies it; max_qps is split between the workers. */
  broadcastConfig(update: Partial<ProxyRuntimeConfig>): void {
    const share =
      update.max_qps === undefined
        ? update
        : { ...update, max_qps: workerMaxQps(update.max_qps, this.options.threads) };
    this.broadcast({ type: 'config', update: share });
  }

  broadcastPattern(action: 'add' | 'delete', pattern: string): void {
    this.broadcast({ type: 'pattern', action, pattern });
  }

  resetStats(): void {
    this.rejectedClients = 0;
    this.broadcast({ type: 'reset-stats' });
  }

  /** Every serving worker's counters (a worker that does not answer in time is left out). */
  async collectStats(): Promise<WorkerStats[]> {
    const id = ++this.nextRequest;
    const timeoutMs = this.options.statsTimeoutMs ?? 5000;
    const answers = await Promise.all(
      this.slots
        .filter((slot) => slot.state === 'serving')
        .map(async (slot) => {
          const snapshot = (await Promise.race([
            this.request(slot, { type: 'stats', id }, id),
            new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
          ])) as WorkerStatsSnapshot | undefined;
          slot.waiters.delete(id);
          return snapshot ? { worker: slot.index, pid: slot.worker.process.pid ?? -1, snapshot } : undefined;
        }),
    );
    return answers.filter((answer): answer is WorkerStats => answer !== undefined);
  }

  /** Stops accepting, lets every worker drain its clients and backends, and waits for their exits. */
  async stop(): Promise<void> {
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all(
      this.slots.map(async (slot) => {
        const exited = new Promise<void>((resolve) => {
          if (slot.worker.isDead()) resolve();
          else slot.worker.once('exit', () => resolve());
        });
        this.send(slot, { type: 'drain' });
        const timer = setTimeout(() => slot.worker.process.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    if (this.server.listening) await closed;
  }

  private fork(index: number): void {
    const worker = cluster.fork();
    const slot: WorkerSlot = { index, worker, state: 'forked', clients: 0, waiters: new Map() };
    const position = this.slots.findIndex((existing) => existing.index === index);
    if (position >= 0) this.slots[position] = slot;
    else this.slots.push(slot);
    worker.on('message', (message: unknown) => this.onMessage(slot, message));
    worker.on('error', (error) =>
      this.logger.warn({ worker: index, error: error.message }, 'proxy worker IPC'),
    );
    worker.on('exit', (code, signal) => this.onExit(slot, code, signal));
  }

  private onMessage(slot: WorkerSlot, message: unknown): void {
    if (!isWorkerMessage(message)) return;
    switch (message.type) {
      case 'ready':
        slot.state = 'starting';
        this.send(slot, { type: 'init', init: { ...this.initFor(), table: this.latestTable } });
        return;
      case 'initialized':
        slot.state = 'serving';
        this.logger.info({ worker: slot.index, workerPid: slot.worker.process.pid }, 'proxy worker serving');
        return;
      case 'table-installed':
        slot.waiters.get(message.id)?.(true);
        slot.waiters.delete(message.id);
        return;
      case 'stats':
        slot.waiters.get(message.id)?.(message.snapshot);
        slot.waiters.delete(message.id);
        return;
      case 'client-closed':
        if (slot.clients > 0) slot.clients--;
        return;
    }
  }

  private onExit(slot: WorkerSlot, code: number | null, signal: string | null): void {
    // Whatever waited on it does not wait on a dead worker.
    for (const resolve of slot.waiters.values()) resolve(undefined);
    slot.waiters.clear();
    slot.clients = 0;
    if (this.stopping || this.slots[this.slots.indexOf(slot)] !== slot) return;
    this.crashes++;
    this.logger.warn(
      { worker: slot.index, workerPid: slot.worker.process.pid, code, signal },
      'proxy worker died; starting a replacement',
    );
    // A short pause: a worker that dies at once (a bad build) must not fork in a tight loop.
    setTimeout(() => {
      if (!this.stopping) this.fork(slot.index);
    }, 200);
  }

  private initFor(): Omit<WorkerInit, 'table'> {
    const init = this.options.init();
    return {
      ...init,
      config: { ...init.config, max_qps: workerMaxQps(init.config.max_qps, this.options.threads) },
    };
  }

  private onConnection(socket: Socket): void {
    if (this.clientCount >= this.options.maxClients()) {
      this.rejectedClients++;
      socket.end(ERROR_MAX_CLIENTS);
      return;
    }
    const serving = this.slots.filter((slot) => slot.state === 'serving');
    if (serving.length === 0) {
      socket.end(ERROR_NO_WORKER);
      return;
    }
    const slot = serving[this.nextSocket++ % serving.length]!;
    slot.clients++;
    slot.worker.send({ type: 'socket' }, socket, (error) => {
      if (!error) return;
      if (slot.clients > 0) slot.clients--;
      socket.destroy();
    });
  }

  private broadcast(message: PrimaryMessage): void {
    for (const slot of this.slots) if (slot.state !== 'forked') this.send(slot, message);
  }

  private request(slot: WorkerSlot, message: PrimaryMessage, id: number): Promise<unknown> {
    return new Promise((resolve) => {
      if (slot.worker.isDead()) {
        resolve(undefined);
        return;
      }
      slot.waiters.set(id, resolve);
      this.send(slot, message);
    });
  }

  private send(slot: WorkerSlot, message: PrimaryMessage): void {
    if (!slot.worker.isConnected()) return;
    slot.worker.send(message, (error: Error | null) => {
      if (error) this.logger.warn({ worker: slot.index, error: error.message }, 'proxy worker send');
    });
  }
}
