import type { FastifyBaseLogger } from 'fastify';

export interface GracefulShutdownOptions {
  logger: FastifyBaseLogger;
  /** After this long the process exits with code 1 even if draining has not finished. @default 10000 */
  timeoutMs?: number;
  /** Stops listeners and drains work; called once. */
  onShutdown: (reason: string) => Promise<void>;
  /** Exit the process when done (tests pass false). @default true */
  exitProcess?: boolean;
}

export interface GracefulShutdown {
  /** Starts the shutdown (idempotent); resolves when drained or timed out. */
  shutdown(reason: string): Promise<void>;
  /** Removes the signal handlers. */
  dispose(): void;
}

/** SIGINT/SIGTERM → one drain, then exit; a second signal or the timeout forces exit 1. */
export function installGracefulShutdown(options: GracefulShutdownOptions): GracefulShutdown {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const exitProcess = options.exitProcess ?? true;
  let running: Promise<void> | undefined;

  const shutdown = (reason: string): Promise<void> => {
    if (running) return running;
    options.logger.info({ reason, timeoutMs }, 'shutting down');
    const timer = setTimeout(() => {
      options.logger.error({ timeoutMs }, 'shutdown timed out; exiting');
      if (exitProcess) process.exit(1);
    }, timeoutMs);
    timer.unref();
    running = options.onShutdown(reason).then(
      () => {
        clearTimeout(timer);
        options.logger.info('shutdown complete');
        if (exitProcess) process.exit(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        options.logger.error({ err: error }, 'shutdown failed');
        if (exitProcess) process.exit(1);
      },
    );
    return running;
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (running) {
      options.logger.warn({ signal }, 'second signal; exiting now');
      if (exitProcess) process.exit(1);
      return;
    }
    void shutdown(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    shutdown,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
