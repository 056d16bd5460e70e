import type { BackendConnection } from './backend-connection';
import type { ClientConnection } from './client-connection';

/** A backend batch this large goes out at once instead of waiting for the end of the turn. */
const EARLY_FLUSH_BYTES = 32 * 1024;
/** A client with this much unread reply data stops being read until it catches up. */
const CLIENT_OUTPUT_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Batches socket writes: clients with finished replies and backends with queued requests are marked
 * dirty and flushed together (backends once per event-loop turn via setImmediate), and client reads
 * are paused/resumed for backpressure. No allocation per request: dirty lists are swapped, the flush
 * callback is bound once.
 */
export class WriteScheduler {
  private dirtyClients: ClientConnection[] = [];
  private dirtyBackends: BackendConnection[] = [];
  private flushScheduled = false;

  constructor(private readonly maxPendingPerClient: number) {}

  /** Queues a client whose replies are ready (callers skip closing clients where it matters). */
  markClient(client: ClientConnection): void {
    if (!client.dirty) {
      client.dirty = true;
      this.dirtyClients.push(client);
    }
  }

  markBackend(backend: BackendConnection): void {
    if (!backend.dirty) {
      backend.dirty = true;
      this.dirtyBackends.push(backend);
    }
    // A large batch goes out early: it is already one big write, and it bounds the memory one
    // backend's batch can hold within a turn.
    if (backend.output.length >= EARLY_FLUSH_BYTES) backend.flush();
  }

  get hasDirtyBackends(): boolean {
    return this.dirtyBackends.length > 0;
  }

  /** Backend writes of every client read in this loop iteration go out together (setImmediate runs
   * after the poll phase): one write per backend per turn, even with many unpipelined clients. */
  schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushAll);
  }

  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    this.flushBackends();
    this.flushClients();
  };

  /** Pauses a client that has too many requests in flight. */
  throttle(client: ClientConnection): void {
    if (client.slots.length >= this.maxPendingPerClient && !client.paused) {
      client.paused = true;
      client.socket.pause();
    }
  }

  /** Resumes a paused client whose socket drained, if it is under the in-flight limit. */
  onDrain(client: ClientConnection): void {
    if (client.paused && client.slots.length < this.maxPendingPerClient) {
      client.paused = false;
      client.socket.resume();
    }
  }

  flushClients(): void {
    const clients = this.dirtyClients;
    if (clients.length === 0) return;
    this.dirtyClients = [];
    for (const client of clients) {
      client.flush();
      const buffered = client.socket.writableLength;
      if (
        client.paused &&
        client.slots.length < this.maxPendingPerClient / 2 &&
        buffered < CLIENT_OUTPUT_LIMIT_BYTES
      ) {
        client.paused = false;
        client.socket.resume();
      } else if (!client.paused && buffered >= CLIENT_OUTPUT_LIMIT_BYTES) {
        // A client that does not read its replies stops being read (bounded memory).
        client.paused = true;
        client.socket.pause();
      }
    }
  }

  flushBackends(): void {
    const backends = this.dirtyBackends;
    if (backends.length === 0) return;
    this.dirtyBackends = [];
    for (const backend of backends) backend.flush();
  }
}
