import { Cluster } from 'ioredis';
import { CHECKPOINT_INDEX_KEY, type Checkpoint, checkpointFromHash, isNewer } from '../core/checkpoint';
import { type ControlClient, selectDatabase } from './target-factory';

async function databasesWithKeys(client: ControlClient): Promise<number[]> {
  if (client instanceof Cluster) return [0];
  const info = await client.info('keyspace');
  const dbs = [...info.matchAll(/^db(\d+):/gm)].map((match) => Number(match[1]));
  return dbs.includes(0) ? dbs : [0, ...dbs];
}

/** Finds the newest checkpoint of `runIds` across every DB of the target (GunYu's restart rule). */
export async function readCheckpoint(
  client: ControlClient,
  checkpointName: string,
  runIds: readonly string[],
): Promise<Checkpoint | undefined> {
  let best: Checkpoint | undefined;
  // The index names each run id's checkpoint key (a cluster shard's key differs per shard layout).
  await selectDatabase(client, 0);
  const names = new Set([checkpointName]);
  for (const runId of runIds) {
    const name = runId ? await client.hget(CHECKPOINT_INDEX_KEY, runId) : null;
    if (name) names.add(name);
  }
  for (const db of await databasesWithKeys(client)) {
    await selectDatabase(client, db);
    for (const name of names) {
      const hash = await client.hgetall(name);
      const found = checkpointFromHash(hash, runIds, db);
      if (found && (!best || isNewer(found, best))) best = found;
    }
  }
  await selectDatabase(client, 0);
  return best;
}

/** Registers the checkpoint name of a run id in the index hash (DB 0). */
export async function writeCheckpointIndex(
  client: ControlClient,
  checkpointName: string,
  runId: string,
): Promise<void> {
  await selectDatabase(client, 0);
  await client.hset(CHECKPOINT_INDEX_KEY, runId, checkpointName);
}

/** Removes the checkpoint fields of `runIds` in every DB (before a full sync rewrites the target). */
export async function deleteCheckpoints(
  client: ControlClient,
  checkpointName: string,
  runIds: readonly string[],
): Promise<void> {
  const fields = runIds
    .filter(Boolean)
    .flatMap((runId) => [`${runId}_runid`, `${runId}_version`, `${runId}_offset`, `${runId}_mtime`]);
  if (fields.length === 0) return;
  for (const db of await databasesWithKeys(client)) {
    await selectDatabase(client, db);
    await client.hdel(checkpointName, ...fields);
  }
  await selectDatabase(client, 0);
}

/** Deletes checkpoints whose mtime is older than `staleMs` (POST /storage/gc); returns how many. */
export async function collectStaleCheckpoints(
  client: ControlClient,
  checkpointName: string,
  staleMs: number,
  nowMs: number,
): Promise<number> {
  let removed = 0;
  const limitNs = BigInt(nowMs - staleMs) * 1_000_000n;
  for (const db of await databasesWithKeys(client)) {
    await selectDatabase(client, db);
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
  await selectDatabase(client, 0);
  return removed;
}
