/** Plain counters of one syncer; the metrics module reads them on scrape (no work on the hot path). */
export class SyncCounters {
  fullSyncs = 0;
  incrementalSyncs = 0;
  rdbKeysSent = 0;
  rdbKeysFiltered = 0;
  rdbBytes = 0;
  rdbTotalBytes = 0;
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
  /** 0 aborted, 1 full syncing, 2 incremental. */
  syncPhase = 0;
}
