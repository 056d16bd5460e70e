/**
 * How a replicated command reaches a Redis Cluster target: which argument is its routing key, and
 * whether a cross-slot instance can be split into one command per slot without changing its effect.
 */

/** Multi-key commands split exactly per slot: keys from argument 1, every `step` arguments. */
export const SPLITTABLE_STEP: ReadonlyMap<string, number> = new Map([
  ['DEL', 1],
  ['UNLINK', 1],
  ['EXISTS', 1],
  ['TOUCH', 1],
  ['MSET', 2],
]);

/** Commands answered by the cluster connection itself (connection state, not data). */
export const LOCAL_COMMANDS: ReadonlySet<string> = new Set(['SELECT']);

/** Keyless commands every master must run (scripts and functions live per node). */
export const BROADCAST_COMMANDS: ReadonlySet<string> = new Set(['FUNCTION', 'SCRIPT']);

/** Keyless commands any master may run. */
const ANY_NODE_COMMANDS: ReadonlySet<string> = new Set(['PING', 'PUBLISH', 'ECHO', 'SWAPDB']);

/** Commands whose first key is argument 2 (a subcommand or operation comes first). */
const KEY_AT_2: ReadonlySet<string> = new Set([
  'XGROUP',
  'BITOP',
  'OBJECT',
  'LMPOP',
  'ZMPOP',
  'BLMPOP',
  'BZMPOP',
]);

/** Scripts: `EVAL script numkeys key…`. */
const NUMKEYS_AT_2: ReadonlySet<string> = new Set([
  'EVAL',
  'EVALSHA',
  'EVAL_RO',
  'EVALSHA_RO',
  'FCALL',
  'FCALL_RO',
]);

export const ANY_NODE = -1;
export const NO_KEY = -2;

/**
 * Argument index of the key a command is routed by; ANY_NODE when any master may run it (keyless),
 * NO_KEY for LOCAL/BROADCAST commands (the caller checks those sets first). `numkeys` reads a
 * script's key count (argument 2).
 */
export function routingKeyIndex(name: string, argumentCount: number, numkeys: () => number): number {
  if (ANY_NODE_COMMANDS.has(name) || argumentCount < 2) return ANY_NODE;
  if (KEY_AT_2.has(name)) return argumentCount > 2 ? 2 : ANY_NODE;
  if (NUMKEYS_AT_2.has(name)) return argumentCount > 3 && numkeys() > 0 ? 3 : ANY_NODE;
  return 1;
}

export type Redirect =
  | { kind: 'moved' | 'ask'; slot: number; address: string }
  | { kind: 'tryagain' | 'clusterdown' };

/** A reply error that means "send it again" (MOVED/ASK elsewhere, TRYAGAIN/CLUSTERDOWN later). */
export function parseRedirect(message: string): Redirect | undefined {
  if (message.startsWith('MOVED ') || message.startsWith('ASK ')) {
    const [kind, slot, address] = message.split(' ');
    if (!slot || !address) return undefined;
    return { kind: kind === 'MOVED' ? 'moved' : 'ask', slot: Number(slot), address };
  }
  if (message.startsWith('TRYAGAIN')) return { kind: 'tryagain' };
  if (message.startsWith('CLUSTERDOWN')) return { kind: 'clusterdown' };
  return undefined;
}
