/** Checkpoint layout exactly as redis-GunYu stores it in the target (docs/checkpoint_zh.md). */
export const CHECKPOINT_INDEX_KEY = 'redis-gunyu-checkpoint-hash';
export const DEFAULT_CHECKPOINT_NAME = 'redis-gunyu-checkpoint';
export const CHECKPOINT_VERSION = '1.0';
/** Keys with these prefixes belong to the syncer and are never replicated. */
export const RESERVED_KEY_PREFIXES: readonly string[] = ['redis-gunyu-checkpoint', '/redis-gunyu'];

export interface Checkpoint {
  runId: string;
  /** Last applied source offset (the next PSYNC asks for offset + 1). */
  offset: number;
  version: string;
  /** Modification time in nanoseconds since the epoch (as a decimal string, it exceeds 2^53). */
  mtime: string;
  /** Target DB the checkpoint was found in (the DB the stream was in when it was written). */
  db: number;
}

export function checkpointFields(runId: string, offset: number, nowNs: bigint): string[] {
  return [
    `${runId}_runid`,
    runId,
    `${runId}_version`,
    CHECKPOINT_VERSION,
    `${runId}_offset`,
    String(offset),
    `${runId}_mtime`,
    String(nowNs),
  ];
}

/** Reads the checkpoint of one of `runIds` from a checkpoint hash (HGETALL as a flat field/value list). */
export function checkpointFromHash(
  hash: Record<string, string>,
  runIds: readonly string[],
  db: number,
): Checkpoint | undefined {
  let best: Checkpoint | undefined;
  for (const runId of runIds) {
    if (!runId) continue;
    const offset = hash[`${runId}_offset`];
    if (offset === undefined) continue;
    const candidate: Checkpoint = {
      runId,
      offset: Number(offset),
      version: hash[`${runId}_version`] ?? CHECKPOINT_VERSION,
      mtime: hash[`${runId}_mtime`] ?? '0',
      db,
    };
    if (!best || isNewer(candidate, best)) best = candidate;
  }
  return best;
}

/** Newest wins: larger offset, then later mtime (GunYu's rule across DBs). */
export function isNewer(candidate: Checkpoint, current: Checkpoint): boolean {
  if (candidate.offset !== current.offset) return candidate.offset > current.offset;
  return BigInt(candidate.mtime) > BigInt(current.mtime);
}
