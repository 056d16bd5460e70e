/** A running session as halt() sees it: drain it gracefully, or close it at once. */
export interface RunningSession {
  close(): void;
  finish(): Promise<void>;
}

/**
 * Drains gracefully, but never waits forever on a target that stopped answering: after `timeoutMs`
 * `onTimeout` runs and the session is closed, which rejects whatever is still pending and ends it.
 */
export async function drainSession(
  session: RunningSession,
  timeoutMs: number,
  onTimeout: () => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    session.finish(),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        onTimeout();
        session.close();
        resolve();
      }, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}

/** Whether the syncer loop ended within `timeoutMs` (false: it still waits somewhere). */
export async function loopEnded(loop: Promise<void> | undefined, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    (loop ?? Promise.resolve()).then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return ended;
}
