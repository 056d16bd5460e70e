import { CLUSTER_SLOTS, keySlot } from './key-slot';

/** Reserved prefix: never replicated, never written; only asked about with EXISTS. */
const PREFIX = 'redis-gunyu-checkpoint-slot:';

let table: Buffer[] | undefined;

/**
 * A key of `slot` that no one writes (the reserved checkpoint prefix). `EXISTS` of it inside a
 * script fails unless this node serves the slot stably: not owned → MOVED, migrating (the key is
 * absent) → ASK, importing → MOVED, all reported as "non local key" — so a batch script can check
 * every slot it will touch before it changes anything. Built once (~170 k CRC16s, a few ms).
 */
export function slotProbeKey(slot: number): Buffer {
  if (!table) {
    const keys = new Array<Buffer | undefined>(CLUSTER_SLOTS).fill(undefined);
    let missing = CLUSTER_SLOTS;
    for (let n = 0; missing > 0; n++) {
      const key = Buffer.from(`${PREFIX}${n.toString(36)}`, 'latin1');
      const keyOf = keySlot(key);
      if (keys[keyOf] === undefined) {
        keys[keyOf] = key;
        missing--;
      }
    }
    table = keys as Buffer[];
  }
  return table[slot] as Buffer;
}
