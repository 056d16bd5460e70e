import { RequestScanner, RespWriter } from '@kvforge/resp';
import {
  ANY_NODE,
  BROADCAST_COMMANDS,
  LOCAL_COMMANDS,
  routingKeyIndex,
} from '../core/cluster/command-routing';
import { CLUSTER_SLOTS, keySlot } from '../core/cluster/key-slot';
import { slotProbeKey } from '../core/cluster/slot-probe-keys';
import { FENCED_ERROR } from '../fencing/batch-fence';

/** Error prefix of a batch script that changed nothing (a slot not served stably by this node). */
export const SLOT_CHECK_ERROR = 'GUNYUSLOT';
/** Error prefix of a batch script whose commands partly failed (the rest and the checkpoint applied). */
export const COMMAND_ERROR = 'GUNYUCMD';
/** Lua's unpack() refuses ~8000 values: a longer command cannot run inside the script. */
export const MAX_SCRIPT_COMMAND_ARGUMENTS = 7000;

// ARGV: owner, lease key, checkpoint key, 8 checkpoint field/values, probe count, probe keys…,
// command count, then per command its argument count and arguments. Nothing is written unless the
// lease is ours and every slot the batch touches is served here stably (undeclared keys of several
// slots of one node are allowed for a script without a shebang on Redis 7.0).
const SCRIPT = `local lease = redis.call('GET', ARGV[2])
if lease ~= ARGV[1] then return redis.error_reply('${FENCED_ERROR} lease held by ' .. tostring(lease)) end
local i = 13
for p = 1, tonumber(ARGV[12]) do
  local r = redis.pcall('EXISTS', ARGV[i])
  if type(r) == 'table' and r.err then return redis.error_reply('${SLOT_CHECK_ERROR} ' .. r.err) end
  i = i + 1
end
local count = tonumber(ARGV[i])
i = i + 1
local failed, first = 0, ''
for c = 1, count do
  local argc = tonumber(ARGV[i])
  local r = redis.pcall(unpack(ARGV, i + 1, i + argc))
  if type(r) == 'table' and r.err then
    if failed == 0 then first = (c - 1) .. ': ' .. r.err end
    failed = failed + 1
  end
  i = i + argc + 1
end
redis.call('HSET', ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11])
if failed > 0 then return redis.error_reply('${COMMAND_ERROR} ' .. failed .. ' failed, first ' .. first) end
return count`;

/** The fixed part of a shard's batches: who writes, and where lease and checkpoint live. */
export interface ClusterTransactionTarget {
  owner: string;
  leaseKey: string;
  checkpointKey: string;
}

/**
 * Cluster → cluster transaction mode: a shard's batch as ONE keyless `EVAL` on the target master that
 * owns the shard's slots. The commands travel as ARGV (their RESP bulks as they are, behind their
 * argument count), followed in the script by the checkpoint `HSET`; the lease check and a per-slot
 * check run first, so the batch and its checkpoint apply together or not at all (a MULTI cannot:
 * keys of several slots get CROSSSLOT even on one node).
 */
export class ClusterTransactionBatch {
  private body = new RespWriter();
  private readonly head = new RespWriter();
  private readonly scanner = new RequestScanner();
  /** slots[0..slotCount) are the distinct slots of the batch; seen[slot] === generation marks them. */
  private readonly slots = new Uint16Array(CLUSTER_SLOTS);
  private readonly seen = new Uint32Array(CLUSTER_SLOTS);
  private generation = 1;
  private slotCount = 0;
  private argumentCount = 0;
  private commandCount = 0;

  private readonly checkpointSlot: number;

  constructor(private readonly target: ClusterTransactionTarget) {
    this.checkpointSlot = keySlot(Buffer.from(target.checkpointKey, 'latin1'));
  }

  get commands(): number {
    return this.commandCount;
  }

  get length(): number {
    return this.body.length;
  }

  /** Whether `add` would take this command. */
  fits(data: Buffer, name: string): boolean {
    return this.keyIndexOf(data, name) >= 0;
  }

  /**
   * Adds one raw command; false when it cannot run inside the script (keyless, broadcast, SELECT,
   * inline, or too many arguments) and must be sent on its own.
   */
  add(data: Buffer, name: string): boolean {
    const keyIndex = this.keyIndexOf(data, name);
    if (keyIndex < 0) return false;
    const scanner = this.scanner;
    const count = scanner.argumentCount;
    this.markSlot(
      keySlot(data, scanner.argumentStarts[keyIndex] as number, scanner.argumentEnds[keyIndex] as number),
    );
    // `*<n>\r\n` then n bulks: the bulks are ARGV entries as they are.
    const bulks = data.indexOf(0x0a) + 1;
    this.body.writeBulk(String(count)).writeRaw(data, bulks);
    this.argumentCount += 1 + count;
    this.commandCount++;
    return true;
  }

  /** The argument index of the command's key (scanned into `scanner`), or -1 if it cannot go inside. */
  private keyIndexOf(data: Buffer, name: string): number {
    if (data[0] !== 0x2a || BROADCAST_COMMANDS.has(name) || LOCAL_COMMANDS.has(name)) return -1;
    const scanner = this.scanner;
    if (scanner.scan(data, 0, data.length) !== data.length) return -1;
    const count = scanner.argumentCount;
    if (count < 1 || count > MAX_SCRIPT_COMMAND_ARGUMENTS) return -1;
    const keyIndex = routingKeyIndex(name, count, () =>
      Number(data.toString('latin1', scanner.argumentStarts[2] ?? 0, scanner.argumentEnds[2] ?? 0)),
    );
    return keyIndex === ANY_NODE || keyIndex < 0 ? -1 : keyIndex;
  }

  /** The EVAL of everything added, with the checkpoint fields; resets the batch. */
  take(checkpointFields: readonly string[]): Uint8Array[] {
    const head = this.head;
    this.markSlot(this.checkpointSlot); // its HSET comes last: it must not fail after the commands ran
    const argv = 3 + 8 + 1 + this.slotCount + 1 + this.argumentCount;
    head
      .writeArrayHeader(3 + argv)
      .writeBulk('EVAL')
      .writeBulk(SCRIPT)
      .writeBulk('0');
    head.writeBulk(this.target.owner).writeBulk(this.target.leaseKey).writeBulk(this.target.checkpointKey);
    for (const field of checkpointFields) head.writeBulk(field);
    head.writeBulk(String(this.slotCount));
    for (let index = 0; index < this.slotCount; index++)
      head.writeBulk(slotProbeKey(this.slots[index] as number));
    head.writeBulk(String(this.commandCount));
    const parts = [head.take(), this.body.take()];
    this.generation++;
    this.slotCount = 0;
    this.argumentCount = 0;
    this.commandCount = 0;
    return parts;
  }

  private markSlot(slot: number): void {
    if (this.seen[slot] === this.generation) return;
    this.seen[slot] = this.generation;
    this.slots[this.slotCount++] = slot;
  }
}
