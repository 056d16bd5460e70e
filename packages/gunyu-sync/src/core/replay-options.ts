export type KeyExistsPolicy = 'replace' | 'ignore' | 'error';
export type FunctionExistsPolicy = '' | 'flush' | 'replace';

/** output.replay.* of GunYu's config, in milliseconds where GunYu uses durations. */
export interface ReplayOptions {
  resumeFromBreakPoint: boolean;
  keyExists: KeyExistsPolicy;
  keyExistsLog: boolean;
  functionExists: FunctionExistsPolicy;
  maxProtoBulkLen: number;
  /** kvforge: a value above this (or maxProtoBulkLen) is streamed as commands, never held whole. */
  maxBufferedValueBytes: number;
  targetDb: number;
  targetDbMap: Record<string, number>;
  batchCmdCount: number;
  batchTickerMs: number;
  batchBufferSize: number;
  keepaliveTickerMs: number;
  replayRdbParallel: number;
  replayRdbEnableRestore: boolean;
  updateCheckpointTickerMs: number;
  replayTransaction: boolean;
  replaceHashTag: boolean;
  checkpointName: string;
}

export const DEFAULT_REPLAY_OPTIONS: Readonly<ReplayOptions> = Object.freeze({
  resumeFromBreakPoint: true,
  keyExists: 'replace',
  keyExistsLog: false,
  functionExists: '',
  maxProtoBulkLen: 512 * 1024 * 1024,
  maxBufferedValueBytes: 32 * 1024 * 1024,
  targetDb: -1,
  targetDbMap: {},
  batchCmdCount: 100,
  batchTickerMs: 10,
  batchBufferSize: 65535,
  keepaliveTickerMs: 3000,
  replayRdbParallel: 8,
  replayRdbEnableRestore: true,
  updateCheckpointTickerMs: 1000,
  replayTransaction: true,
  replaceHashTag: false,
  checkpointName: 'redis-gunyu-checkpoint',
});

/** The target DB for a source DB under targetDb / targetDbMap. */
export function mapDb(options: Pick<ReplayOptions, 'targetDb' | 'targetDbMap'>, sourceDb: number): number {
  if (options.targetDb >= 0) return options.targetDb;
  return options.targetDbMap[String(sourceDb)] ?? sourceDb;
}

/** The source DB whose commands land in `targetDb` (to resume after +CONTINUE). */
export function unmapDb(options: Pick<ReplayOptions, 'targetDb' | 'targetDbMap'>, targetDb: number): number {
  for (const [source, target] of Object.entries(options.targetDbMap))
    if (target === targetDb) return Number(source);
  return targetDb;
}

/** FNV-1a over the key bytes, to pick an RDB replay lane (same key, same lane, same order). */
export function laneOf(key: Uint8Array, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key[i] as number;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % lanes;
}

/** `{tag}` removed from a key (replaceHashTag). */
export function stripHashTag(key: Buffer): Buffer {
  const open = key.indexOf(0x7b);
  if (open < 0) return key;
  const close = key.indexOf(0x7d, open + 1);
  if (close < 0) return key;
  return Buffer.concat([key.subarray(0, open), key.subarray(open + 1, close), key.subarray(close + 1)]);
}
