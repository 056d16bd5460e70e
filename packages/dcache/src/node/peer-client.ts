import { Agent, type Dispatcher } from 'undici';

import { RING_VERSION_HEADER, TOKEN_HEADER } from '../core/internal-api';

export interface PeerResponse {
  statusCode: number;
  /** Parsed JSON body (undefined when empty or not JSON). */
  body: unknown;
  ringVersion: number | undefined;
}

export interface PeerClientOptions {
  /** Sent on every call when set. */
  clusterToken?: string;
  /** Keep-alive connections per peer. */
  connectionsPerPeer: number;
  requestTimeoutMs: number;
}

export interface RawPeerResponse {
  statusCode: number;
  text: string;
  ringVersion: number | undefined;
}

export interface BufferPeerResponse {
  statusCode: number;
  body: Buffer;
  ringVersion: number | undefined;
}

const EMPTY = Buffer.alloc(0);

const NO_HEADERS: Record<string, string> = {};

const RING_VERSION_HEADER_BYTES = Buffer.from(RING_VERSION_HEADER);

/**
 * Collects one response: status, the ring-version header and the body as one buffer. Written to undici's
 * core handler interface (raw header buffers, no wrapper), which its pools run natively.
 */
class CollectingHandler {
  private statusCode = 0;
  private ringVersion: number | undefined;
  private first: Buffer | undefined;
  private rest: Buffer[] | undefined;

  constructor(
    private readonly resolve: (response: BufferPeerResponse) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onConnect(): void {}

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.statusCode = statusCode;
    for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
      const name = rawHeaders[index] as Buffer;
      // Header names arrive as sent; ours are lowercase, compared without allocating.
      if (name.length === RING_VERSION_HEADER_BYTES.length && name.equals(RING_VERSION_HEADER_BYTES)) {
        this.ringVersion = Number((rawHeaders[index + 1] as Buffer).toString('latin1'));
        break;
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.first === undefined) this.first = chunk;
    else if (this.rest === undefined) this.rest = [chunk];
    else this.rest.push(chunk);
    return true;
  }

  onComplete(): void {
    const body =
      this.first === undefined
        ? EMPTY
        : this.rest === undefined
          ? this.first
          : Buffer.concat([this.first, ...this.rest]);
    this.resolve({ statusCode: this.statusCode, body, ringVersion: this.ringVersion });
  }

  onError(error: Error): void {
    this.reject(error);
  }
}

export const DEFAULT_PEER_CLIENT_OPTIONS: PeerClientOptions = {
  connectionsPerPeer: 32,
  requestTimeoutMs: 3000,
};

/** Node-to-node HTTP over one undici Agent: a keep-alive pool per peer, never a connection per request. */
export class PeerClient {
  private readonly agent: Agent;
  private readonly options: PeerClientOptions;
  private readonly denied = new Set<string>();
  private readonly origins = new Map<string, string>();

  constructor(options: Partial<PeerClientOptions> = {}) {
    this.options = { ...DEFAULT_PEER_CLIENT_OPTIONS, ...options };
    this.agent = new Agent({
      connections: this.options.connectionsPerPeer,
      keepAliveTimeout: 30_000,
      pipelining: 1,
    });
  }

  async call(
    address: string,
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<PeerResponse> {
    const { statusCode, text, ringVersion } = await this.callRaw(address, method, path, options);
    let body: unknown;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    return { statusCode, body, ringVersion };
  }

  /**
   * The answer's body as text: a forwarded GET passes it to the client untouched. The hot path of
   * every forward, so it dispatches on the pool directly (no response stream, no per-call origin
   * string) and keeps the body as the one chunk it nearly always is.
   */
  async callRaw(
    address: string,
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<RawPeerResponse> {
    const { statusCode, body, ringVersion } = await this.callBuffer(address, method, path, options);
    return { statusCode, text: body.toString('utf8'), ringVersion };
  }

  /** The answer's body as the bytes received (a subarray-able buffer): batched forwarded reads. */
  callBuffer(
    address: string,
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<BufferPeerResponse> {
    if (this.denied.has(address)) return Promise.reject(new Error(`${address} is unreachable (deny-list)`));
    let headers = options.headers ?? NO_HEADERS;
    if (this.options.clusterToken !== undefined)
      headers = { ...headers, [TOKEN_HEADER]: this.options.clusterToken };
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers = { ...headers, 'content-type': 'application/json' };
    }
    const timeout = options.timeoutMs ?? this.options.requestTimeoutMs;
    let origin = this.origins.get(address);
    if (origin === undefined) {
      origin = `http://${address}`;
      this.origins.set(address, origin);
    }
    return new Promise((resolve, reject) => {
      this.agent.dispatch(
        { origin, path, method, headers, body: payload, headersTimeout: timeout, bodyTimeout: timeout },
        new CollectingHandler(resolve, reject) as unknown as Dispatcher.DispatchHandler,
      );
    });
  }

  /**
   * Fault injection: calls to these addresses fail as if the network were cut. Deny on both sides
   * and two nodes are partitioned; `allow()` heals. Tests partition clusters with it.
   */
  deny(addresses: Iterable<string>): void {
    for (const address of addresses) this.denied.add(address);
  }

  allow(): void {
    this.denied.clear();
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
