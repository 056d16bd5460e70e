import { COMMAND_FLAG_NAMES, REDIS_COMMANDS } from './command-table.generated';

/** How the proxy handles a command. */
export const COMMAND_KINDS = {
  UNSUPPORTED: 0,
  /** Key at argument 1: routed by its bucket, the key rewritten to `<bucket>_<key>`. */
  SINGLE_KEY: 1,
  /** Keys split per backend and replies merged (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH). */
  SPLIT: 2,
  /** Answered by the proxy itself. */
  LOCAL: 3,
  /** Sent to every backend and the integer replies summed (DBSIZE). */
  BROADCAST_SUM: 4,
} as const;
export type CommandKind = (typeof COMMAND_KINDS)[keyof typeof COMMAND_KINDS];

/** How the replies of a split command are merged. */
export const MERGE_KINDS = { NONE: 0, ARRAY: 1, SUM: 2, ALL_OK: 3 } as const;
export type MergeKind = (typeof MERGE_KINDS)[keyof typeof MERGE_KINDS];

export interface CommandSpec {
  /** Dense index for per-command counters. */
  readonly id: number;
  readonly name: string;
  readonly arity: number;
  readonly kind: CommandKind;
  readonly merge: MergeKind;
  /** Arguments per key for SPLIT commands (2 for MSET). */
  readonly step: number;
  readonly write: boolean;
  /** A multi-key command (SINTER, PFCOUNT, …) that is routed only when given exactly one key. */
  readonly oneKeyOnly: boolean;
}

const flagBit = (name: (typeof COMMAND_FLAG_NAMES)[number]): number => 1 << COMMAND_FLAG_NAMES.indexOf(name);
const REJECTED_FLAGS =
  flagBit('admin') | flagBit('pubsub') | flagBit('blocking') | flagBit('movablekeys') | flagBit('noscript');

// Single-key by COMMAND's key positions but unsafe through a sharding proxy (the original refuses them too).
const DENIED = new Set(['MOVE', 'RESTORE-ASKING', 'PFDEBUG', 'PFSELFTEST', 'OBJECT', 'WAIT']);

const SPLIT: Record<string, MergeKind> = {
  MGET: MERGE_KINDS.ARRAY,
  MSET: MERGE_KINDS.ALL_OK,
  DEL: MERGE_KINDS.SUM,
  UNLINK: MERGE_KINDS.SUM,
  EXISTS: MERGE_KINDS.SUM,
  TOUCH: MERGE_KINDS.SUM,
};

/** Answered locally (see the proxy's local-commands module). */
export const LOCAL_COMMANDS = [
  'PING',
  'ECHO',
  'QUIT',
  'SELECT',
  'AUTH',
  'HELLO',
  'CLIENT',
  'COMMAND',
  'CONFIG',
  'INFO',
] as const;

export class CommandTable {
  readonly commands: CommandSpec[] = [];
  private readonly byName = new Map<string, CommandSpec>();
  /** Case-folded FNV-1a hash of a name → its specs: the hot path looks names up in the request bytes. */
  private readonly byHash = new Map<number, CommandSpec[]>();
  /** Stands for every unknown or unsupported name in the counters. */
  readonly unknown: CommandSpec;

  constructor() {
    this.unknown = this.add({
      name: 'UNKNOWN',
      arity: 0,
      kind: COMMAND_KINDS.UNSUPPORTED,
      merge: 0,
      step: 1,
      write: false,
      oneKeyOnly: false,
    });
    const local = new Set<string>(LOCAL_COMMANDS);
    for (const [name, arity, firstKey, lastKey, step, flags] of REDIS_COMMANDS) {
      const write = (flags & flagBit('write')) !== 0;
      let kind: CommandKind = COMMAND_KINDS.UNSUPPORTED;
      let merge: MergeKind = MERGE_KINDS.NONE;
      let oneKeyOnly = false;
      if (local.has(name)) kind = COMMAND_KINDS.LOCAL;
      else if (name === 'DBSIZE') kind = COMMAND_KINDS.BROADCAST_SUM;
      else if (SPLIT[name] !== undefined) {
        kind = COMMAND_KINDS.SPLIT;
        merge = SPLIT[name]!;
      } else if (
        firstKey === 1 &&
        lastKey === 1 &&
        step === 1 &&
        (flags & REJECTED_FLAGS) === 0 &&
        !DENIED.has(name)
      ) {
        kind = COMMAND_KINDS.SINGLE_KEY;
      } else if (
        firstKey === 1 &&
        lastKey === -1 &&
        step === 1 &&
        (flags & REJECTED_FLAGS) === 0 &&
        !DENIED.has(name)
      ) {
        // Multi-key commands (SINTER, PFCOUNT, …) are routed only when given exactly one key.
        kind = COMMAND_KINDS.SINGLE_KEY;
        oneKeyOnly = true;
      }
      this.add({ name, arity, kind, merge, step: Math.max(step, 1), write, oneKeyOnly });
    }
  }

  private add(spec: Omit<CommandSpec, 'id'>): CommandSpec {
    const full: CommandSpec = { id: this.commands.length, ...spec };
    this.commands.push(full);
    this.byName.set(full.name, full);
    this.byName.set(full.name.toLowerCase(), full);
    const hash = foldedHash(Buffer.from(full.name, 'latin1'), 0, full.name.length);
    const specs = this.byHash.get(hash);
    if (specs) specs.push(full);
    else this.byHash.set(hash, [full]);
    return full;
  }

  /** The spec named by `buffer[start, end)` in any case, read in place (no string per request). */
  lookupBytes(buffer: Uint8Array, start: number, end: number): CommandSpec | undefined {
    if (end - start > MAX_NAME_LENGTH) return undefined;
    const specs = this.byHash.get(foldedHash(buffer, start, end));
    if (!specs) return undefined;
    for (const spec of specs) if (sameFoldedName(spec.name, buffer, start, end)) return spec;
    return undefined;
  }

  /** Looks a name up as sent (upper or lower case hit the map directly; mixed case is folded). */
  lookup(name: string): CommandSpec | undefined {
    return this.byName.get(name) ?? this.byName.get(name.toUpperCase());
  }
}

/** Longer than every Redis command name: longer input is unknown without hashing it. */
const MAX_NAME_LENGTH = 64;
const LOWER_A = 0x61;
const LOWER_Z = 0x7a;
const CASE_BIT = 0x20;

function upper(byte: number): number {
  return byte >= LOWER_A && byte <= LOWER_Z ? byte ^ CASE_BIT : byte;
}

function foldedHash(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let index = start; index < end; index++) hash = Math.imul(hash ^ upper(bytes[index]!), 0x01000193);
  return hash >>> 0;
}

/** `name` is upper case ASCII; the bytes may be in any case. */
function sameFoldedName(name: string, bytes: Uint8Array, start: number, end: number): boolean {
  if (name.length !== end - start) return false;
  for (let index = 0; index < name.length; index++) {
    if (name.charCodeAt(index) !== upper(bytes[start + index]!)) return false;
  }
  return true;
}
