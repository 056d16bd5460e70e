import type { Redis } from 'ioredis';
import type { ReplayOptions } from './core/replay-options';
import { readCheckpoint } from './replay/checkpoint-store';
import type { ControlClient } from './replay/target-factory';

/** Where a session's PSYNC resumes: the last applied offset of a replication id. */
export interface ResumePoint {
  runId: string;
  offset: number;
  db: number;
}

export interface SessionStartPoint {
  /** The source's current and previous replication ids (a failed-over node keeps the old one). */
  replid: string;
  replid2: string;
  /** Undefined: nothing to resume from, PSYNC asks for a full sync. */
  checkpoint: ResumePoint | undefined;
}

/**
 * Reads the source's replication ids and the checkpoint of either: from the target with
 * resumeFromBreakPoint, else the one kept in memory; none on a forced full sync.
 */
export async function findSessionStart(
  source: Redis,
  target: ControlClient,
  replay: ReplayOptions,
  memoryCheckpoint: { runId: string; offset: number } | undefined,
  forceFullSync: boolean,
): Promise<SessionStartPoint> {
  const info = await source.info('replication');
  const replid = /master_replid:(\w+)/.exec(info)?.[1] ?? '';
  const replid2 = /master_replid2:(\w+)/.exec(info)?.[1] ?? '';
  let checkpoint: ResumePoint | undefined;
  if (!forceFullSync) {
    checkpoint = replay.resumeFromBreakPoint
      ? await readCheckpoint(target, replay.checkpointName, [replid, replid2])
      : memoryCheckpoint && { ...memoryCheckpoint, db: 0 };
  }
  return { replid, replid2, checkpoint };
}
