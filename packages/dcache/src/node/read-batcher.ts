import { INTERNAL_PATHS } from '../core/internal-api';
import { decodeReadFrame } from '../core/read-frame';
import type { ReadResult } from './node-options';
import type { BufferPeerResponse, PeerClient } from './peer-client';

/** Where a forwarded read's answer goes. The HTTP layer implements it once; the token is its reply. */
export interface ReadSink<Token> {
  /** The owner's client body (a slice of the batch answer), passed through untouched. */
  raw(token: Token, statusCode: number, body: Buffer): void;
  /** A read the single-key path answered (fallbacks, retries). */
  result(token: Token, key: string, result: ReadResult): void;
  fail(token: Token, error: unknown): void;
}

export interface ReadBatcherHost {
  readonly peers: PeerClient;
  /** undefined when the node is no longer in the ring: the batch takes the single-key path. */
  addressOfMember(nodeId: string): string | undefined;
  internalHeaders(): Record<string, string>;
  /** The single-key forwarded read (421 retry, replica fallback): what a key falls back to. */
  singleRead(key: string): Promise<ReadResult>;
  countForwards(keys: number, failed: boolean): void;
}

interface Queue {
  keys: string[];
  sinks: Array<ReadSink<unknown>>;
  tokens: unknown[];
}

/** Keys per batch request; more queued in one turn go out as several requests. */
const MAX_KEYS_PER_REQUEST = 256;

/**
 * Coalesces the forwarded GETs of one event-loop turn by owner: one `POST /internal/batch/reads`
 * per owner instead of one request each. Under load this is what makes a forward cheap — the
 * profile of the forwarding node was dominated by one socket write and read per forwarded GET on
 * each side of the hop. The owner answers each key with the client body it would have sent for a
 * single GET (a read frame); the bodies go back to the clients as slices, never re-parsed. Any key
 * the batch cannot answer (an error, a 421, a malformed frame) takes the single-key path, which
 * owns the 421 retry and the replica fallback.
 */
export class ForwardedReadBatcher {
  private queues = new Map<string, Queue>();
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  constructor(private readonly host: ReadBatcherHost) {}

  enqueue<Token>(owner: string, key: string, sink: ReadSink<Token>, token: Token): void {
    let queue = this.queues.get(owner);
    if (queue === undefined) {
      queue = { keys: [], sinks: [], tokens: [] };
      this.queues.set(owner, queue);
    }
    queue.keys.push(key);
    queue.sinks.push(sink as ReadSink<unknown>);
    queue.tokens.push(token);
    if (!this.scheduled) {
      this.scheduled = true;
      // After the poll phase: every request the sockets delivered this turn is queued by then.
      setImmediate(this.flushNow);
    }
  }

  private flush(): void {
    this.scheduled = false;
    const queues = this.queues;
    this.queues = new Map();
    for (const [owner, queue] of queues) {
      for (let start = 0; start < queue.keys.length; start += MAX_KEYS_PER_REQUEST) {
        const end = Math.min(queue.keys.length, start + MAX_KEYS_PER_REQUEST);
        const chunk =
          start === 0 && end === queue.keys.length
            ? queue
            : {
                keys: queue.keys.slice(start, end),
                sinks: queue.sinks.slice(start, end),
                tokens: queue.tokens.slice(start, end),
              };
        this.send(owner, chunk);
      }
    }
  }

  private send(owner: string, queue: Queue): void {
    const address = this.host.addressOfMember(owner);
    if (address === undefined) {
      this.fallBack(queue, 0, queue.keys.length);
      return;
    }
    this.host.countForwards(queue.keys.length, false);
    this.host.peers
      .callBuffer(address, 'POST', INTERNAL_PATHS.batchReads, {
        body: JSON.stringify({ keys: queue.keys }),
        headers: this.host.internalHeaders(),
      })
      .then(
        (answer) => this.deliver(queue, answer),
        () => {
          this.host.countForwards(0, true);
          this.fallBack(queue, 0, queue.keys.length);
        },
      );
  }

  private deliver(queue: Queue, answer: BufferPeerResponse): void {
    const entries = answer.statusCode === 200 ? decodeReadFrame(answer.body, queue.keys.length) : undefined;
    if (entries === undefined) {
      this.host.countForwards(0, true);
      this.fallBack(queue, 0, queue.keys.length);
      return;
    }
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      if (entry.statusCode === 200 || entry.statusCode === 404)
        queue.sinks[index]!.raw(queue.tokens[index], entry.statusCode, entry.body);
      else this.fallBack(queue, index, index + 1);
    }
  }

  private fallBack(queue: Queue, start: number, end: number): void {
    for (let index = start; index < end; index++) {
      const sink = queue.sinks[index]!;
      const token = queue.tokens[index];
      const key = queue.keys[index]!;
      this.host.singleRead(key).then(
        (result) => sink.result(token, key, result),
        (error: unknown) => sink.fail(token, error),
      );
    }
  }
}
