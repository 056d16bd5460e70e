import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export type RdbTamper =
  /** Flip the last byte of the first occurrence of `marker` in the RDB payload. */
  | { kind: 'flip'; marker: Buffer }
  /** Forward `afterBytes` bytes of the RDB payload, then nothing more until `cut()` closes the session. */
  | { kind: 'truncate'; afterBytes: number };

interface Pair {
  client: Socket;
  upstream: Socket;
}

/**
 * TCP man-in-the-middle between a syncer and its source. Only the FIRST replication session (the
 * connection whose client sent PSYNC and got `+FULLRESYNC`) is tampered with, inside the RDB payload
 * (after the `$<len>` / `$EOF:<mark>` header line); every other connection is passed through.
 * Once the tampering happened, new connections are held (accepted, not forwarded) until `release()`,
 * so a test can inspect the syncer and the target before the retry starts.
 */
export class RdbTamperProxy {
  /** Resolves when the tampering was applied (flip done / truncation point reached). */
  readonly tampered: Promise<void>;
  /** `$EOF:` (diskless) or `$<len>` header line of the tampered transfer. */
  rdbHeader = '';
  private markTampered!: () => void;
  private done = false;
  private holding = false;
  private readonly held: Socket[] = [];
  private readonly pairs = new Set<Pair>();
  private tamperedPair: Pair | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly upstream: { host: string; port: number },
    private readonly tamper: RdbTamper,
  ) {
    this.tampered = new Promise((resolve) => {
      this.markTampered = resolve;
    });
    server.on('connection', (client) => this.accept(client));
  }

  static async start(upstream: { host: string; port: number }, tamper: RdbTamper): Promise<RdbTamperProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no proxy address');
    return new RdbTamperProxy(server, address.port, upstream, tamper);
  }

  /** Forwards the held connections and every later one. */
  release(): void {
    this.holding = false;
    for (const client of this.held.splice(0)) this.forward(client);
  }

  /** Closes the tampered session (both sides), as a dropped link would. */
  cut(): void {
    this.tamperedPair?.client.destroy();
    this.tamperedPair?.upstream.destroy();
  }

  async close(): Promise<void> {
    for (const client of this.held.splice(0)) client.destroy();
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    if (this.holding) {
      client.pause();
      this.held.push(client);
      return;
    }
    this.forward(client);
  }

  private forward(client: Socket): void {
    const upstream = tcpConnect(this.upstream.port, this.upstream.host);
    upstream.on('error', () => {});
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    const closeBoth = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    let sawPsync = false;
    let clientText = '';
    client.on('data', (chunk: Buffer) => {
      if (!sawPsync && !this.done) {
        clientText = (clientText + chunk.toString('latin1')).slice(-256);
        sawPsync = /PSYNC/i.test(clientText);
      }
      upstream.write(chunk);
    });
    client.resume();
    // Server → client: scan for `+FULLRESYNC … \r\n[\n…]$header\r\n`, then tamper with the payload.
    let phase: 'header' | 'payload' | 'pass' = 'header';
    let headerText = '';
    let payloadSeen = 0;
    let tail = Buffer.alloc(0);
    const onPayload = (payload: Buffer): void => {
      if (this.tamper.kind === 'truncate') {
        const room = this.tamper.afterBytes - payloadSeen;
        if (payload.length < room) {
          payloadSeen += payload.length;
          client.write(payload);
          return;
        }
        client.write(payload.subarray(0, room));
        payloadSeen += room;
        phase = 'pass';
        upstream.pause(); // nothing more reaches the syncer from this session
        this.finish(pair);
        return;
      }
      const marker = this.tamper.marker;
      const window = Buffer.concat([tail, payload]);
      const at = window.indexOf(marker);
      if (at >= 0) {
        // The match was not complete in the previous chunk, so its last byte is in this one.
        const flipAt = at + marker.length - 1 - tail.length;
        const changed = Buffer.from(payload);
        changed[flipAt] = (changed[flipAt] as number) ^ 0x01;
        client.write(changed);
        phase = 'pass';
        this.finish(pair);
        return;
      }
      tail = Buffer.from(window.subarray(Math.max(0, window.length - (marker.length - 1))));
      client.write(payload);
    };
    upstream.on('data', (chunk: Buffer) => {
      if (phase === 'pass' || !sawPsync || this.done) {
        if (phase !== 'pass' || this.tamperedPair !== pair || this.tamper.kind !== 'truncate')
          client.write(chunk);
        return;
      }
      if (phase === 'payload') {
        onPayload(chunk);
        return;
      }
      const before = headerText.length;
      headerText += chunk.toString('latin1');
      const match = /\+FULLRESYNC [^\r]*\r\n\n*(\$[^\r]*)\r\n/.exec(headerText);
      if (!match) {
        client.write(chunk);
        return;
      }
      const payloadStart = match.index + match[0].length - before;
      this.rdbHeader = match[1] as string;
      client.write(chunk.subarray(0, payloadStart));
      phase = 'payload';
      if (payloadStart < chunk.length) onPayload(chunk.subarray(payloadStart));
    });
  }

  private finish(pair: Pair): void {
    this.done = true;
    this.holding = true;
    this.tamperedPair = pair;
    this.markTampered();
  }
}
