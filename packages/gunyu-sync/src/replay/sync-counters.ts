/** Cluster target routing: redirections followed, commands split per slot, cross-slot refusals. */
export class ClusterCounters {
  moved = 0;
  ask = 0;
  /** TRYAGAIN / CLUSTERDOWN / a lost node connection: sent again after a pause or a topology refresh. */
  retried = 0;
  /** Cross-slot DEL/UNLINK/EXISTS/TOUCH/MSET split into one command per slot. */
  splitCommands = 0;
  /** Source MULTI/EXEC groups whose keys span slots, replayed command by command. */
  splitTransactions = 0;
  /** Commands the target refused with CROSSSLOT (not splittable), per command name. */
  readonly crossSlot = new Map<string, number>();
  /** Pipelines restarted because the source topology changed (redisGunYu_syncer_role_change). */
  topologyRestarts = 0;
}

/** Plain counters of one syncer; the metrics module reads them on scrape (no work on the hot path). */
export class SyncCounters {
  fullSyncs = 0;
  incrementalSyncs = 0;
  rdbKeysSent = 0;
  rdbKeysFiltered = 0;
  rdbBytes = 0;
  /** Keys the source held when the full sync started (INFO keyspace), for the progress gauge. */
  rdbKeysExpected = 0;
  /** rdbKeysSent + rdbKeysFiltered when the current full sync started (they are running totals). */
  rdbKeysBefore = 0;
  receivedCommands = 0;
  sentCommands = 0;
  filteredCommands = 0;
  successCommands = 0;
  failedCommands = 0;
  sentBytes = 0;
  batchesOk = 0;
  batchesError = 0;
  transactionBatches = 0;
  /** Source offset received (and spooled). */
  inputOffset = 0;
  /** Source offset of the last command sent to the target. */
  sendOffset = 0;
  /** Source offset of the last command the target acknowledged. */
  ackOffset = 0;
  /** Time (ms since the epoch) the ack offset last moved. */
  ackTimeMs = 0;
  /** Time the last command was received from the source. */
  receiveTimeMs = 0;
  syncDelayNs = 0;
  /** Times the spool was full and reading the source was paused. */
  spoolFullPauses = 0;
  /** Times replay fell a read-ahead behind reading and reading the source was paused (flow control). */
  readAheadPauses = 0;
  /** Times such a pause outlasted the stall limit (replay took nothing) and reading went on, spilling. */
  readAheadSpills = 0;
  /** 0 aborted, 1 full syncing, 2 incremental. */
  syncPhase = 0;
  readonly cluster = new ClusterCounters();

  /** redisGunYu_output_full_sync: 100 once streaming, else RDB keys handled / keys expected (≤ 99). */
  fullSyncPercent(): number {
    if (this.syncPhase === 2) return 100;
    if (this.syncPhase === 0 || this.rdbKeysExpected === 0) return 0;
    const handled = this.rdbKeysSent + this.rdbKeysFiltered - this.rdbKeysBefore;
    return Math.min(99, Math.floor((100 * handled) / this.rdbKeysExpected));
  }
}
