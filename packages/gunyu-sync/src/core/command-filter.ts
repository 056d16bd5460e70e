import { RESERVED_KEY_PREFIXES } from './checkpoint';
import { CLUSTER_SLOTS, keySlot } from './cluster/key-slot';

export interface FilterOptions {
  commandBlacklist: readonly string[];
  prefixKeyBlacklist: readonly string[];
  prefixKeyWhitelist: readonly string[];
  dbBlacklist: readonly number[];
  /** `slotFilter.keySlotBlacklist/Whitelist`: `[from, to]` or `[slot]`, inclusive. */
  keySlotBlacklist?: readonly (readonly number[])[] | undefined;
  keySlotWhitelist?: readonly (readonly number[])[] | undefined;
}

/** slot → allowed (1) under the black/white lists; undefined when neither is set. */
function slotMask(options: FilterOptions): Uint8Array | undefined {
  const black = options.keySlotBlacklist ?? [];
  const white = options.keySlotWhitelist ?? [];
  if (black.length === 0 && white.length === 0) return undefined;
  const mask = new Uint8Array(CLUSTER_SLOTS).fill(white.length > 0 ? 0 : 1);
  const mark = (ranges: readonly (readonly number[])[], value: number): void => {
    for (const range of ranges) {
      const from = Math.max(0, range[0] ?? 0);
      const to = Math.min(CLUSTER_SLOTS - 1, range[1] ?? range[0] ?? 0);
      if (to >= from) mask.fill(value, from, to + 1);
    }
  };
  mark(white, 1);
  mark(black, 0);
  return mask;
}

export const DEFAULT_FILTER_OPTIONS: Readonly<FilterOptions> = Object.freeze({
  commandBlacklist: [],
  prefixKeyBlacklist: [],
  prefixKeyWhitelist: [],
  dbBlacklist: [],
});

/** Commands never replayed (GunYu's NoRouteCmds / unsupported list): admin, replication and flushes. */
const NEVER_REPLAYED = new Set([
  'PING',
  'REPLCONF',
  'PSYNC',
  'SYNC',
  'AUTH',
  'HELLO',
  'CLIENT',
  'CONFIG',
  'CLUSTER',
  'SAVE',
  'BGSAVE',
  'BGREWRITEAOF',
  'FLUSHALL',
  'FLUSHDB',
  'MIGRATE',
  'RESTORE-ASKING',
  'WAIT',
  'SHUTDOWN',
  'DEBUG',
  'MONITOR',
  'SLAVEOF',
  'REPLICAOF',
]);

/** Commands without keys (their argument 1 is not a key). */
const KEYLESS = new Set([
  'MULTI',
  'EXEC',
  'DISCARD',
  'SELECT',
  'FUNCTION',
  'SCRIPT',
  'PUBLISH',
  'SWAPDB',
  'EVAL',
  'EVALSHA',
  'FCALL',
  'FCALL_RO',
]);

export type FilterVerdict = 'pass' | 'drop';

const RESERVED_FIRST_BYTES = RESERVED_KEY_PREFIXES.map((prefix) => prefix.charCodeAt(0));

/** Pure decisions on the command stream and RDB keys; the key is compared as latin1 text. */
export class CommandFilter {
  private readonly blacklist: Set<string>;
  private readonly dbBlacklist: Set<number>;
  private readonly noPrefixLists: boolean;
  private readonly slots: Uint8Array | undefined;

  constructor(private readonly options: FilterOptions) {
    this.blacklist = new Set(options.commandBlacklist.map((name) => name.toUpperCase()));
    this.dbBlacklist = new Set(options.dbBlacklist);
    this.noPrefixLists = options.prefixKeyBlacklist.length === 0 && options.prefixKeyWhitelist.length === 0;
    this.slots = slotMask(options);
  }

  keyAllowed(key: string): boolean {
    for (const prefix of RESERVED_KEY_PREFIXES) if (key.startsWith(prefix)) return false;
    for (const prefix of this.options.prefixKeyBlacklist) if (key.startsWith(prefix)) return false;
    if (this.options.prefixKeyWhitelist.length === 0) return true;
    return this.options.prefixKeyWhitelist.some((prefix) => key.startsWith(prefix));
  }

  /** `keyAllowed` for the key bytes `key[start, end)`; no text conversion when no prefix can match. */
  keyBytesAllowed(key: Buffer, start = 0, end = key.length): boolean {
    if (this.slots && this.slots[keySlot(key, start, end)] === 0) return false;
    const first = end > start ? key[start] : undefined;
    if (this.noPrefixLists && first !== RESERVED_FIRST_BYTES[0] && first !== RESERVED_FIRST_BYTES[1])
      return true;
    return this.keyAllowed(key.toString('latin1', start, end));
  }

  dbAllowed(db: number): boolean {
    return !this.dbBlacklist.has(db);
  }

  /** `name` upper-case; argument 1 (the key of keyed commands) is `argument[start, end)`, if any. */
  command(
    name: string,
    db: number,
    argument?: Buffer,
    start = 0,
    end = argument?.length ?? 0,
  ): FilterVerdict {
    if (NEVER_REPLAYED.has(name) || this.blacklist.has(name)) return 'drop';
    if (!this.dbAllowed(db)) return 'drop';
    if (argument === undefined) return 'pass';
    if (name === 'PUBLISH')
      return argument.toString('latin1', start, end) === '__sentinel__:hello' ? 'drop' : 'pass';
    if (KEYLESS.has(name)) return 'pass';
    return this.keyBytesAllowed(argument, start, end) ? 'pass' : 'drop';
  }
}
