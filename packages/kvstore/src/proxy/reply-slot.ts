import type { MergeKind } from '../core/command-table';
import type { ClientConnection } from './client-connection';

export interface FollowUp {
  backend: { output: { writeRaw(bytes: Uint8Array): unknown }; expect(slot: ReplySlot, part: number): void };
  request: Buffer;
  target: ReplySlot;
  part: number;
}

/**
 * One request's place in its client's ordered reply queue. Single-key requests fill `reply` from one
 * backend reply; split requests collect one reply per backend part and merge when the last arrives.
 */
export class ReplySlot {
  reply: Buffer | undefined = undefined;
  done = false;
  isError = false;
  /** Set when the reply was already answered (timeout, backend loss): a late backend reply is dropped. */
  abandoned = false;
  merge: MergeKind = 0;
  pendingParts = 0;
  partReplies: (Buffer | undefined)[] | undefined = undefined;
  /** MGET: the original key positions served by each part. */
  partIndexes: number[][] | undefined = undefined;
  keyCount = 0;
  /** Close the client once this reply is written (QUIT, protocol errors). */
  closeAfter = false;
  /**
   * Migration step: this slot is the reply of a MIGRATE sent to a bucket's old owner; once it arrives,
   * `request` is sent to `backend` for part `part` of `target` (the client's real reply slot).
   */
  followUp: FollowUp | undefined = undefined;

  constructor(
    readonly client: ClientConnection,
    readonly commandId: number,
    readonly startedAt: number,
  ) {}

  complete(reply: Buffer, isError: boolean): void {
    this.reply = reply;
    this.isError = isError;
    this.done = true;
  }
}
