import { connect } from 'node:net';
import { parseAddress } from '../core/address';

export interface RedisMonitorOptions {
  /** Seconds between probes. @default 3 (the original's) */
  intervalSeconds?: number;
  /** Connect/read timeout of one probe in ms. @default 1000 */
  probeTimeoutMs?: number;
  /** Current `redis_down_timeout` (s); read at every probe so set_config applies at once. */
  downTimeoutSeconds: () => number;
  password: () => string;
  /** Called once when an address has failed for `redis_down_timeout`, and once when it answers again. */
  onStateChange: (address: string, state: 'down' | 'up', replicaAddress: string) => void;
}

/** One request: AUTH (when set), then INFO replication; returns the raw reply text, or throws. */
function probe(address: string, password: string, timeoutMs: number): Promise<string> {
  const target = parseAddress(address)!;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    let received = '';
    const timer = setTimeout(() => socket.destroy(new Error('probe timeout')), timeoutMs);
    const expected = password.length > 0 ? 2 : 1;
    socket.on('connect', () => {
      const auth = password.length > 0 ? command(['AUTH', password]) : '';
      socket.write(auth + command(['INFO', 'replication']));
    });
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      // Any reply counts as alive (even -LOADING); INFO's bulk ends the exchange.
      if (countReplies(received) >= expected) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error('closed'));
    });
  });
}

function command(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/** Enough to tell that AUTH's line and INFO's bulk (or an error line) have both arrived. */
function countReplies(text: string): number {
  let count = 0;
  let offset = 0;
  while (offset < text.length) {
    const lineEnd = text.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    if (text[offset] === '$') {
      const length = Number(text.slice(offset + 1, lineEnd));
      const end = lineEnd + 2 + Math.max(length, 0) + (length >= 0 ? 2 : 0);
      if (end > text.length) break;
      offset = end;
    } else offset = lineEnd + 2;
    count++;
  }
  return count;
}

/** Promotes a replica picked by the ConfigServer: `REPLICAOF NO ONE` (the original sent SLAVEOF NO ONE). */
export function promoteReplica(address: string, password: string, timeoutMs = 2000): Promise<string> {
  const target = parseAddress(address)!;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port });
    let received = '';
    const expected = password.length > 0 ? 2 : 1;
    const timer = setTimeout(() => socket.destroy(new Error('promote timeout')), timeoutMs);
    socket.on('connect', () => {
      const auth = password.length > 0 ? command(['AUTH', password]) : '';
      socket.write(auth + command(['REPLICAOF', 'NO', 'ONE']));
    });
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (countReplies(received) >= expected) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** `slave0:ip=10.0.0.2,port=6379,state=online,…` → `10.0.0.2:6379` (the first online replica). */
export function replicaFromInfo(info: string): string {
  for (const match of info.matchAll(/slave\d+:ip=([^,\s]+),port=(\d+),state=(\w+)/g)) {
    if (match[3] === 'online') return `${match[1]}:${match[2]}`;
  }
  return '';
}

interface Watched {
  failures: number;
  down: boolean;
  replica: string;
}

/**
 * The original's monitor: probe every backend on a fresh connection every 3 s; after
 * `redis_down_timeout` of consecutive failures report it down (with the replica seen in its last
 * `INFO replication`), report it up when it answers again.
 */
export class RedisMonitor {
  private readonly watched = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private readonly options: Required<RedisMonitorOptions>;

  constructor(options: RedisMonitorOptions) {
    this.options = { intervalSeconds: 3, probeTimeoutMs: 1000, ...options };
  }

  setAddresses(addresses: Iterable<string>): void {
    const wanted = new Set(addresses);
    for (const address of wanted) {
      if (!this.watched.has(address)) this.watched.set(address, { failures: 0, down: false, replica: '' });
    }
    for (const address of this.watched.keys()) if (!wanted.has(address)) this.watched.delete(address);
  }

  isDown(address: string): boolean {
    return this.watched.get(address)?.down ?? false;
  }

  /** The replica last seen in `address`'s INFO replication ('' when none). */
  replicaOf(address: string): string {
    return this.watched.get(address)?.replica ?? '';
  }

  /** The replica last seen for each master that is currently down. */
  downReplicas(): Set<string> {
    const replicas = new Set<string>();
    for (const state of this.watched.values()) if (state.down && state.replica) replicas.add(state.replica);
    return replicas;
  }

  /**
   * Watches the owners of a newly installed table and promotes every address that replaced a dead
   * master it was the replica of (the proxy that sees the change does it, as in the original).
   * Returns the promoted addresses.
   */
  async onTable(previousOwners: ReadonlySet<string>, owners: readonly string[]): Promise<string[]> {
    const replicas = this.downReplicas();
    const promoted: string[] = [];
    for (const address of new Set(owners)) {
      if (previousOwners.has(address) || !replicas.has(address)) continue;
      await promoteReplica(address, this.options.password());
      promoted.push(address);
    }
    this.setAddresses(owners);
    return promoted;
  }

  start(): void {
    this.timer = setInterval(() => void this.probeAll(), this.options.intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async probeAll(): Promise<void> {
    await Promise.all(
      [...this.watched].map(async ([address, state]) => {
        try {
          const info = await probe(address, this.options.password(), this.options.probeTimeoutMs);
          state.failures = 0;
          const replica = replicaFromInfo(info);
          if (replica) state.replica = replica;
          if (state.down) {
            state.down = false;
            this.options.onStateChange(address, 'up', state.replica);
          }
        } catch {
          state.failures++;
          const limit = Math.max(
            1,
            Math.floor(this.options.downTimeoutSeconds() / this.options.intervalSeconds),
          );
          if (!state.down && state.failures >= limit) {
            state.down = true;
            this.options.onStateChange(address, 'down', state.replica);
          }
        }
      }),
    );
  }
}
