import { DCACHE_ERROR_CODES, DcacheError } from './errors';

/**
 * Resolves once `needed` of `sends` succeeded; rejects (QUORUM_FAILED) as soon as so many failed
 * that `needed` can no longer be reached. The sends left over keep running in the background
 * (their failures are swallowed): the remaining replicas finish on their own.
 */
export function awaitQuorum(sends: ReadonlyArray<Promise<unknown>>, needed: number): Promise<void> {
  for (const send of sends) send.catch(() => undefined);
  if (needed <= 0) return Promise.resolve();
  if (sends.length < needed) {
    return Promise.reject(
      new DcacheError(
        DCACHE_ERROR_CODES.QUORUM_FAILED,
        `write quorum: ${needed} needed, ${sends.length} sent`,
      ),
    );
  }
  return new Promise<void>((resolve, reject) => {
    let acknowledged = 0;
    let failed = 0;
    for (const send of sends) {
      send.then(
        () => {
          acknowledged++;
          if (acknowledged === needed) resolve();
        },
        (error: unknown) => {
          failed++;
          if (sends.length - failed === needed - 1) {
            reject(
              new DcacheError(
                DCACHE_ERROR_CODES.QUORUM_FAILED,
                `write quorum ${needed + 1} not reached: ${String(error)}`,
                { cause: error },
              ),
            );
          }
        },
      );
    }
  });
}

/** Replica acknowledgements a primary needs: the quorum counts the primary's own copy. */
export const replicaAcksNeeded = (writeQuorum: number, replicaCount: number): number =>
  Math.min(writeQuorum, replicaCount + 1) - 1;
