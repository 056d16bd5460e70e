import { RequestScanner, RespWriter } from '@kvforge/resp';
import {
  ANY_NODE,
  BROADCAST_COMMANDS,
  LOCAL_COMMANDS,
  type Redirect,
  routingKeyIndex,
  SPLITTABLE_STEP,
} from '../core/cluster/command-routing';
import { keySlot } from '../core/cluster/key-slot';
import { commandName } from '../core/command-name';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';
import type { ClusterCounters } from './sync-counters';
import type { BatchError } from './target-connection';

/** A piece of a batch that goes to one node: a command, a slice of a split command, or a MULTI…EXEC. */
export interface Unit {
  slot: number;
  /** A broadcast copy goes to this master whatever the slot. */
  address: string | undefined;
  parts: Uint8Array[];
  replies: number;
  /** Batch index of its first reply; a split slice answers for `firstIndex` alone (`merged`). */
  firstIndex: number;
  merged: boolean;
  name: string;
  /** ASK: the next attempt goes to this node, after ASKING. */
  askAddress: string | undefined;
  redirect: Redirect | undefined;
  lost: Error | undefined;
  errors: BatchError[];
  /** A transaction batch script: never re-sent (its outcome may be unknown); any redirect fails it. */
  pinned: boolean;
}

export interface ParsedBatch {
  units: Unit[];
  local: BatchError[];
}

export function unit(
  slot: number,
  parts: Uint8Array[],
  replies: number,
  firstIndex: number,
  name: string,
): Unit {
  return {
    slot,
    address: undefined,
    parts,
    replies,
    firstIndex,
    merged: false,
    name,
    askAddress: undefined,
    redirect: undefined,
    lost: undefined,
    errors: [],
    pinned: false,
  };
}

/**
 * Splits a batch of raw commands into units by the slot of each command's key: cross-slot
 * DEL/UNLINK/EXISTS/TOUCH/MSET become one command per slot, a single-slot source MULTI…EXEC stays
 * whole, FUNCTION/SCRIPT go to every master.
 */
export class ClusterBatchParser {
  private readonly scanner = new RequestScanner();

  constructor(private readonly counters: ClusterCounters) {}

  /** Splits a batch into units (whole commands, per-slot slices, single-slot transactions). */
  parse(bytes: Buffer, replyCount: number, masters: readonly string[]): ParsedBatch {
    const scanner = this.scanner;
    const units: Unit[] = [];
    const local: BatchError[] = [];
    let group: { first: number; units: Unit[]; parts: Uint8Array[] } | undefined;
    let index = 0;
    let position = 0;
    while (position < bytes.length) {
      const end = scanner.scan(bytes, position, bytes.length);
      if (end < 0) throw new GunyuError(GUNYU_ERROR_CODES.target, 'incomplete command in a cluster batch');
      const data = bytes.subarray(position, end);
      position = end;
      if (scanner.argumentCount === 0) continue;
      const name = commandName(bytes, scanner.argumentStarts[0] as number, scanner.argumentEnds[0] as number);
      if (name === 'MULTI' && !group) {
        group = { first: index++, units: [], parts: [data] };
        continue;
      }
      if (name === 'EXEC' && group) {
        group.parts.push(data);
        this.closeGroup(group, index, units);
        group = undefined;
        index++;
        continue;
      }
      const target = group ? group.units : units;
      if (LOCAL_COMMANDS.has(name)) {
        const db = bytes.toString('latin1', scanner.argumentStarts[1] ?? 0, scanner.argumentEnds[1] ?? 0);
        if (db !== '0') local.push({ index, message: 'ERR SELECT is not allowed in cluster mode' });
        if (group) group.parts.push(data);
      } else {
        this.commandUnits(bytes, data, name, index, target, masters);
        if (group) group.parts.push(data);
      }
      index++;
    }
    if (group) throw new GunyuError(GUNYU_ERROR_CODES.target, 'MULTI without EXEC in a cluster batch');
    if (index !== replyCount)
      throw new GunyuError(
        GUNYU_ERROR_CODES.target,
        `cluster batch holds ${index} commands, ${replyCount} expected`,
      );
    return { units, local };
  }

  /** A source transaction: kept whole where every key is in one slot, else replayed command by command. */
  private closeGroup(
    group: { first: number; units: Unit[]; parts: Uint8Array[] },
    execIndex: number,
    units: Unit[],
  ): void {
    const slots = new Set(group.units.filter((item) => item.slot !== ANY_NODE).map((item) => item.slot));
    const single = slots.size <= 1 && group.units.every((item) => item.address === undefined && !item.merged);
    if (single && group.parts.length === execIndex - group.first + 1) {
      const [slot] = slots;
      units.push(unit(slot ?? ANY_NODE, group.parts, group.parts.length, group.first, 'MULTI'));
      return;
    }
    // MULTI and EXEC are answered here (no error); each command goes on its own.
    this.counters.splitTransactions++;
    units.push(...group.units);
  }

  private commandUnits(
    bytes: Buffer,
    data: Buffer,
    name: string,
    index: number,
    units: Unit[],
    masters: readonly string[],
  ): void {
    const scanner = this.scanner;
    const count = scanner.argumentCount;
    if (BROADCAST_COMMANDS.has(name)) {
      for (const address of masters) {
        const copy = unit(ANY_NODE, [data], 1, index, name);
        copy.address = address;
        copy.merged = true;
        units.push(copy);
      }
      return;
    }
    const step = SPLITTABLE_STEP.get(name);
    if (step !== undefined && count > 1 + step) {
      const split = this.split(bytes, name, step, index);
      if (split) {
        this.counters.splitCommands++;
        units.push(...split);
        return;
      }
    }
    const keyIndex = routingKeyIndex(name, count, () =>
      Number(bytes.toString('latin1', scanner.argumentStarts[2] ?? 0, scanner.argumentEnds[2] ?? 0)),
    );
    const slot =
      keyIndex === ANY_NODE
        ? ANY_NODE
        : keySlot(
            bytes,
            scanner.argumentStarts[keyIndex] as number,
            scanner.argumentEnds[keyIndex] as number,
          );
    units.push(unit(slot, [data], 1, index, name));
  }

  /** One command per slot for a cross-slot DEL-like (step 1) or MSET (step 2); undefined if one slot. */
  private split(bytes: Buffer, name: string, step: number, index: number): Unit[] | undefined {
    const scanner = this.scanner;
    const bySlot = new Map<number, number[]>();
    for (let argument = 1; argument + step - 1 < scanner.argumentCount; argument += step) {
      const slot = keySlot(
        bytes,
        scanner.argumentStarts[argument] as number,
        scanner.argumentEnds[argument] as number,
      );
      let list = bySlot.get(slot);
      if (!list) {
        list = [];
        bySlot.set(slot, list);
      }
      list.push(argument);
    }
    if (bySlot.size <= 1) return undefined;
    const units: Unit[] = [];
    const nameBytes = bytes.subarray(scanner.argumentStarts[0] as number, scanner.argumentEnds[0] as number);
    for (const [slot, argumentsOfSlot] of bySlot) {
      const writer = new RespWriter();
      writer.writeArrayHeader(1 + argumentsOfSlot.length * step).writeBulk(nameBytes);
      for (const argument of argumentsOfSlot) {
        for (let offset = 0; offset < step; offset++)
          writer.writeBulk(
            bytes.subarray(
              scanner.argumentStarts[argument + offset] as number,
              scanner.argumentEnds[argument + offset] as number,
            ),
          );
      }
      const slice = unit(slot, [writer.take()], 1, index, name);
      slice.merged = true;
      units.push(slice);
    }
    return units;
  }
}

/** `[start, end)` of argument 1 in the head of a multibulk command (`*n $len name $len key …`). */
export function secondArgument(head: Uint8Array): [number, number] | undefined {
  let position = 0;
  const line = (): number => {
    const start = position;
    while (position < head.length && head[position] !== 0x0d) position++;
    const value = Number(
      Buffer.from(head.buffer, head.byteOffset + start + 1, position - start - 1).toString('latin1'),
    );
    position += 2;
    return value;
  };
  if (head[0] !== 0x2a) return undefined;
  line();
  const nameLength = line();
  position += nameLength + 2;
  const keyLength = line();
  if (position + keyLength > head.length) return undefined;
  return [position, position + keyLength];
}
