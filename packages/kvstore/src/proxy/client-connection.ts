import type { Socket } from 'node:net';
import { Fifo, InputBuffer, RequestScanner } from '@kvforge/resp';
import type { ReplySlot } from './reply-slot';

/**
 * A client socket and its ordered reply queue. Replies are written in request order, the completed
 * head of the queue in one write per turn.
 */
export class ClientConnection {
  readonly slots = new Fifo<ReplySlot>(16);
  /** Bytes of an incomplete request carried over to the next read. */
  readonly input = new InputBuffer();
  /** Per client, so a large request arriving over many reads resumes its scan instead of restarting. */
  readonly scanner = new RequestScanner();
  authenticated: boolean;
  name: Buffer | undefined = undefined;
  /** RESP version chosen with HELLO; a RESP3 client is served by the RESP3 backend pool. */
  protocol: 2 | 3 = 2;
  dirty = false;
  closing = false;
  paused = false;
  lastActive: number;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    needsAuth: boolean,
    now: number,
  ) {
    this.authenticated = !needsAuth;
    this.lastActive = now;
  }

  /** Writes every completed reply at the head of the queue, corked into one write. */
  flush(): void {
    this.dirty = false;
    if (this.closing && this.socket.destroyed) return;
    const first = this.slots.peek();
    if (!first?.done) return;
    this.slots.shift();
    const second = first.closeAfter ? undefined : this.slots.peek();
    if (!second?.done) {
      // The common unpipelined case: one reply, one plain write (cork + writev costs more for one buffer).
      this.socket.write(first.reply!);
      if (first.closeAfter) this.finish();
      return;
    }
    this.socket.cork();
    this.socket.write(first.reply!);
    let closeAfter = false;
    let head = this.slots.peek();
    while (head?.done) {
      this.slots.shift();
      this.socket.write(head.reply!);
      if (head.closeAfter) {
        closeAfter = true;
        break;
      }
      head = this.slots.peek();
    }
    this.socket.uncork();
    if (closeAfter) this.finish();
  }

  private finish(): void {
    this.closing = true;
    this.socket.end();
  }
}
