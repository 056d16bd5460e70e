import { describe, expect, it } from 'vitest';
import { awaitQuorum, replicaAcksNeeded } from './quorum';

/** A send the test settles by hand. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

const settled = async (promise: Promise<void>) => {
  let state = 'pending';
  promise.then(
    () => {
      state = 'resolved';
    },
    () => {
      state = 'rejected';
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return state;
};

describe('awaitQuorum', () => {
  it('resolves at the needed acknowledgement, not before', async () => {
    const sends = [deferred(), deferred(), deferred()];
    const quorum = awaitQuorum(
      sends.map((send) => send.promise),
      2,
    );
    sends[0]!.resolve();
    expect(await settled(quorum)).toBe('pending');
    sends[2]!.resolve();
    expect(await settled(quorum)).toBe('resolved');
    sends[1]!.reject(new Error('late failure is ignored'));
  });

  it('rejects with QUORUM_FAILED as soon as the quorum is out of reach', async () => {
    const sends = [deferred(), deferred(), deferred()];
    const quorum = awaitQuorum(
      sends.map((send) => send.promise),
      2,
    );
    sends[0]!.reject(new Error('down'));
    expect(await settled(quorum)).toBe('pending');
    sends[1]!.reject(new Error('down too'));
    await expect(quorum).rejects.toMatchObject({ code: 'DCACHE_ERR_QUORUM_FAILED' });
    sends[2]!.resolve();
  });

  it('needs nothing with a quorum of one copy, and fails when fewer sends than needed exist', async () => {
    await expect(awaitQuorum([Promise.reject(new Error('x'))], 0)).resolves.toBeUndefined();
    await expect(awaitQuorum([], 1)).rejects.toMatchObject({ code: 'DCACHE_ERR_QUORUM_FAILED' });
  });

  it('counts the primary: replicas 3 with quorum 2 need one replica ack; quorum caps at the copies', () => {
    expect(replicaAcksNeeded(2, 2)).toBe(1);
    expect(replicaAcksNeeded(1, 2)).toBe(0);
    expect(replicaAcksNeeded(5, 1)).toBe(1);
  });
});
