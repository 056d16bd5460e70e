import { Agent } from 'undici';

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

export const DEFAULT_PEER_CLIENT_OPTIONS: PeerClientOptions = {
  connectionsPerPeer: 32,
  requestTimeoutMs: 3000,
};

/** Node-to-node HTTP over one undici Agent: a keep-alive pool per peer, never a connection per request. */
export class PeerClient {
  private readonly agent: Agent;
  private readonly options: PeerClientOptions;
  private readonly denied = new Set<string>();

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

  /** The answer's body as text: a forwarded GET passes it to the client untouched. */
  async callRaw(
    address: string,
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<{ statusCode: number; text: string; ringVersion: number | undefined }> {
    if (this.denied.has(address)) throw new Error(`${address} is unreachable (deny-list)`);
    const headers: Record<string, string> = { ...options.headers };
    if (this.options.clusterToken !== undefined) headers[TOKEN_HEADER] = this.options.clusterToken;
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const timeout = options.timeoutMs ?? this.options.requestTimeoutMs;
    const response = await this.agent.request({
      origin: `http://${address}`,
      path,
      method,
      headers,
      body: payload,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const text = await response.body.text();
    const versionHeader = response.headers[RING_VERSION_HEADER];
    const ringVersion = typeof versionHeader === 'string' ? Number(versionHeader) : undefined;
    return { statusCode: response.statusCode, text, ringVersion };
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
