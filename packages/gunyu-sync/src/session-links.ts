import type { Clock, Logger } from '@kvforge/runtime';
import type { Redis } from 'ioredis';
import type { SpillingSpool } from './core/spilling-spool';
import { redisClient } from './net/redis-client';
import type { SpoolItem } from './replay/spool-item';
import type { SyncCounters } from './replay/sync-counters';
import {
  type ControlClient,
  createControlClient,
  createTargetLink,
  type TargetSpec,
} from './replay/target-factory';
import type { TargetLink } from './replay/target-link';
import { ReplicaClient } from './replication/replica-client';
import type { RunningSession } from './session-drain';
import { SessionInbox } from './session-inbox';
import { spoolingListener } from './session-phases';
import { openSpool } from './session-resources';
import type { SyncerOptions } from './syncer-options';

/**
 * The connections and buffers of one sync session (source, control and command links to the target,
 * fake replica → spool → inbox), and the one way to close them all.
 */
export class SessionLinks implements RunningSession {
  readonly source: Redis;
  readonly target: ControlClient;
  readonly commandConnection: TargetLink;
  readonly spool: SpillingSpool<SpoolItem>;
  readonly inbox: SessionInbox;
  readonly replica: ReplicaClient;
  /** Run by close(): extra clients and watches the session added. */
  readonly closers: (() => void)[] = [];
  probeTimer: NodeJS.Timeout | undefined;
  private finished: (() => void) | undefined;
  private readonly finishedPromise = new Promise<void>((resolve) => {
    this.finished = resolve;
  });

  constructor(
    options: SyncerOptions,
    output: TargetSpec,
    counters: SyncCounters,
    clock: Clock,
    logger: Logger,
  ) {
    this.source = redisClient(options.input);
    this.target = createControlClient(output);
    this.commandConnection = createTargetLink(output, counters.cluster, logger);
    this.spool = openSpool(options);
    // The replica is created below; the inbox pauses it only once data flows, after start().
    this.inbox = new SessionInbox(
      this.spool,
      { pauseReading: () => this.replica.pauseReading(), resumeReading: () => this.replica.resumeReading() },
      counters,
      options.replay.batchTickerMs,
      clock,
    );
    this.replica = new ReplicaClient(
      options.input,
      spoolingListener(counters, (item) => this.inbox.push(item)),
      { listeningPort: options.listeningPort, capaEof: options.capaEof },
    );
  }

  close(reason?: Error): void {
    // Before the spool is dropped: the stream loop must end even if the source's close item is lost.
    this.inbox.abort(reason);
    if (this.probeTimer) clearInterval(this.probeTimer);
    for (const closer of this.closers) closer();
    this.replica.stop();
    this.commandConnection.close();
    this.source.disconnect();
    this.target.disconnect();
    this.spool.close();
  }

  /** Graceful: stop reading, apply what was spooled, then wait for the session to end. */
  async finish(): Promise<void> {
    this.inbox.finish();
    this.replica.stop();
    await this.finishedPromise;
  }

  /** The session ended (its links closed): a pending finish() returns. */
  markFinished(): void {
    this.finished?.();
  }
}
