import type { RespWriter } from '@kvforge/resp';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';

/** Error prefix of a batch refused because another process owns the lease. */
export const FENCED_ERROR = 'FENCED';

// Not the owner: touch the watched fence key (our own MULTI/EXEC then aborts) and answer an error.
const CHECK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
redis.call('INCR', KEYS[2])
return redis.error_reply('${FENCED_ERROR} lease held by ' .. tostring(redis.call('GET', KEYS[1])))`;

/**
 * The owner check written into every replayed batch (standalone target). Transaction mode:
 * `WATCH fence; EVAL check; MULTI … EXEC`: a batch of a process that is not the owner, or that lost
 * the lease between the check and EXEC (a takeover bumps the fence key), is never applied.
 * Non-transaction mode: the check goes after the batch, so a lost lease is seen one batch later.
 */
export class BatchFence {
  constructor(
    private readonly keys: { lease: string; fence: string },
    private readonly owner: string,
  ) {}

  /** Writes the check; the connection is in `db` before and after. Returns the replies it adds. */
  write(writer: RespWriter, db: number, watch: boolean): number {
    let replies = 0;
    if (db !== 0) {
      writer.writeCommand(['SELECT', '0']);
      replies++;
    }
    if (watch) {
      writer.writeCommand(['WATCH', this.keys.fence]);
      replies++;
    }
    writer.writeCommand(['EVAL', CHECK, '2', this.keys.lease, this.keys.fence, this.owner]);
    replies++;
    if (db !== 0) {
      writer.writeCommand(['SELECT', String(db)]);
      replies++;
    }
    return replies;
  }
}

export function isFencedError(message: string): boolean {
  return message.startsWith(FENCED_ERROR);
}

/** A batch the target refused because another process owns the lease: this one must step down. */
export class FencedBatchError extends GunyuError {
  constructor(reply: string) {
    super(GUNYU_ERROR_CODES.target, `refused by fencing: ${reply}`);
  }
}
