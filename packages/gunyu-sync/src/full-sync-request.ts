import { connectRedis } from './net/redis-client';
import { deleteCheckpoints } from './replay/checkpoint-store';
import { createControlClient, onEveryMaster, type TargetSpec } from './replay/target-factory';

export interface FullSyncRequest {
  target: TargetSpec;
  /** FLUSHALL / FLUSHDB run on every target master first, when given. */
  flushCommand: string | undefined;
  checkpointName: string;
  /** The replication ids whose checkpoints go. */
  runIds: string[];
}

/** Where clearing the target failed, and whether the target may have lost data by then. */
export interface FullSyncFailure {
  step: string;
  targetTouched: boolean;
  error: Error;
}

/**
 * Clears the target for a forced full sync: connect, `pauseInput` (only once the target answers, so
 * an unreachable one leaves the input untouched), flush, delete the checkpoints. Resolves with the
 * failure instead of throwing, so the caller can decide how to bring the input back.
 */
export async function clearTargetForFullSync(
  request: FullSyncRequest,
  pauseInput: () => Promise<void>,
): Promise<FullSyncFailure | undefined> {
  const target = createControlClient(request.target);
  let step = 'connect to the target';
  let targetTouched = false;
  try {
    await connectRedis(target);
    await pauseInput();
    const { flushCommand } = request;
    if (flushCommand) {
      step = flushCommand;
      // A standalone target refuses a flush as a whole; a cluster may have flushed some masters.
      targetTouched = request.target.clusterSeeds !== undefined;
      await onEveryMaster(target, (node) => node.call(flushCommand));
    }
    step = 'delete the checkpoints';
    targetTouched = true;
    await deleteCheckpoints(target, request.checkpointName, request.runIds);
    return undefined;
  } catch (error) {
    return { step, targetTouched, error: error as Error };
  } finally {
    target.disconnect();
  }
}
