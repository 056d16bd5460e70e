import type { Redis } from 'ioredis';
import { CHECKPOINT_INDEX_KEY, type Checkpoint, checkpointFromHash, isNewer } from '../core/checkpoint';

async function databasesWithKeys(client: Redis): Promise<number[]> {
  const info = await client.info('keyspace');
  const dbs = [...info.matchAll(/^db(\d+):/gm)].map((match) => Number(match[1]));
  return dbs.includes(0) ? dbs : [0, ...dbs];
}

/** Finds the newest checkpoint of `runIds` across every DB of the target (GunYu's restart rule). */
export async function readCheckpoint(
  client: Redis,
  checkpointName: string,
  runIds: readonly string[],
): Promise<Checkpoint | undefined> {
  let best: Checkpoint | undefined;
  for (const db of await databasesWithKeys(client)) {
    await client.select(db);
    const hash = await client.hgetall(checkpointName);
    const found = checkpointFromHash(hash, runIds, db);
    if (found && (!best || isNewer(found, best))) best = found;
  }
  await client.select(0);
  return best;
}

/** Registers the checkpoint name of a run id in the index hash (DB 0). */
export async function writeCheckpointIndex(
  client: Redis,
  checkpointName: string,
  runId: string,
): Promise<void> {
  await client.select(0);
  await client.hset(CHECKPOINT_INDEX_KEY, runId, checkpointName);
}

/** Removes the checkpoint fields of `runIds` in every DB (before a full sync rewrites the target). */
export async function deleteCheckpoints(
  client: Redis,
  checkpointName: string,
  runIds: readonly string[],
): Promise<void> {
  const fields = runIds
    .filter(Boolean)
    .flatMap((runId) => [`${runId}_runid`, `${runId}_version`, `${runId}_offset`, `${runId}_mtime`]);
  if (fields.length === 0) return;
  for (const db of await databasesWithKeys(client)) {
    await client.select(db);
    await client.hdel(checkpointName, ...fields);
  }
  await client.select(0);
}

/** Deletes checkpoints whose mtime is older than `staleMs` (POST /storage/gc); returns how many. */
export async function collectStaleCheckpoints(
  client: Redis,
  checkpointName: string,
  staleMs: number,
  nowMs: number,
): Promise<number> {
  let removed = 0;
  const limitNs = BigInt(nowMs - staleMs) * 1_000_000n;
  for (const db of await databasesWithKeys(client)) {
    await client.select(db);
    const hash = await client.hgetall(checkpointName);
    for (const [field, value] of Object.entries(hash)) {
      if (!field.endsWith('_mtime') || BigInt(value) >= limitNs) continue;
      const runId = field.slice(0, -'_mtime'.length);
      await client.hdel(
        checkpointName,
        `${runId}_runid`,
        `${runId}_version`,
        `${runId}_offset`,
        `${runId}_mtime`,
      );
      if (db === 0) await client.hdel(CHECKPOINT_INDEX_KEY, runId);
      removed++;
    }
  }
  await client.select(0);
  return removed;
}
