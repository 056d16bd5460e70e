import { Counter, Gauge, type Registry } from 'prom-client';
import type { SyncCounters } from '../replay/sync-counters';
import type { SyncService } from '../sync-service';

const SYNC_STATES = ['ready_run', 'run', 'pause', 'stop'] as const;

type CounterField = {
  [K in keyof SyncCounters]: SyncCounters[K] extends number ? K : never;
}[keyof SyncCounters];

/**
 * GunYu's Prometheus series (namespace `redisGunYu`, no `_total` suffix) so its Grafana dashboards
 * work. Values are read from the syncers' plain counters at scrape time.
 */
export function registerGunyuMetrics(registry: Registry, service: SyncService): void {
  const perInput = (name: string, help: string, field: CounterField, kind: 'counter' | 'gauge'): void => {
    const collect = function (this: Counter<'input'> | Gauge<'input'>) {
      this.reset();
      for (const syncer of service.syncers) {
        const value = syncer.counters[field];
        if (kind === 'counter') (this as Counter<'input'>).inc({ input: syncer.options.inputAddress }, value);
        else (this as Gauge<'input'>).set({ input: syncer.options.inputAddress }, value);
      }
    };
    if (kind === 'counter')
      new Counter({ name, help, labelNames: ['input'], registers: [registry], collect });
    else new Gauge({ name, help, labelNames: ['input'], registers: [registry], collect });
  };

  perInput('redisGunYu_input_offset', 'source offset received and spooled', 'inputOffset', 'gauge');
  perInput('redisGunYu_output_rdb_key_send', 'RDB keys replayed', 'rdbKeysSent', 'counter');
  perInput('redisGunYu_output_rdb_key_filter', 'RDB keys filtered', 'rdbKeysFiltered', 'counter');
  perInput(
    'redisGunYu_output_received_cmd',
    'commands received from the stream',
    'receivedCommands',
    'counter',
  );
  perInput('redisGunYu_output_send_cmd', 'commands sent to the target', 'sentCommands', 'counter');
  perInput('redisGunYu_output_filter_cmd', 'commands filtered', 'filteredCommands', 'counter');
  perInput('redisGunYu_output_success_cmd', 'commands the target accepted', 'successCommands', 'counter');
  perInput('redisGunYu_output_fail_cmd', 'commands the target rejected', 'failedCommands', 'counter');
  perInput('redisGunYu_output_send_size', 'bytes sent to the target', 'sentBytes', 'counter');
  perInput('redisGunYu_output_send_offset', 'source offset of the last command sent', 'sendOffset', 'gauge');
  perInput('redisGunYu_output_ack_offset', 'source offset acknowledged by the target', 'ackOffset', 'gauge');
  perInput('redisGunYu_output_sync_delay', 'end-to-end delay from the probe key, ns', 'syncDelayNs', 'gauge');
  perInput('redisGunYu_rdb_write', 'RDB bytes received', 'rdbBytes', 'counter');
  perInput(
    'redisGunYu_input_read_ahead_spill',
    'read-ahead pauses that outlasted the stall limit, after which reading went on and spilled to disk (kvforge)',
    'readAheadSpills',
    'counter',
  );

  new Counter({
    name: 'redisGunYu_input_sync_type',
    help: 'PSYNC outcomes',
    labelNames: ['input', 'sync_type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const syncer of service.syncers) {
        this.inc({ input: syncer.options.inputAddress, sync_type: 'full' }, syncer.counters.fullSyncs);
        this.inc({ input: syncer.options.inputAddress, sync_type: 'incr' }, syncer.counters.incrementalSyncs);
      }
    },
  });
  new Gauge({
    name: 'redisGunYu_input_input_sync',
    help: '0 aborted, 1 full syncing, 2 incremental syncing',
    labelNames: ['input', 'role'],
    registers: [registry],
    collect() {
      this.reset();
      for (const syncer of service.syncers)
        this.set({ input: syncer.options.inputAddress, role: syncer.guard.role }, syncer.counters.syncPhase);
    },
  });
  new Gauge({
    name: 'redisGunYu_input_sync_state',
    help: '1 for the current state',
    labelNames: ['input', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const syncer of service.syncers) {
        for (const state of SYNC_STATES)
          this.set({ input: syncer.options.inputAddress, state }, syncer.state === state ? 1 : 0);
      }
    },
  });
  new Counter({
    name: 'redisGunYu_output_sender',
    help: 'batches sent',
    labelNames: ['input', 'transaction', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const syncer of service.syncers) {
        const transaction = syncer.transaction ? 'yes' : 'no';
        this.inc(
          { input: syncer.options.inputAddress, transaction, result: 'ok' },
          syncer.counters.batchesOk,
        );
        this.inc(
          { input: syncer.options.inputAddress, transaction, result: 'error' },
          syncer.counters.batchesError,
        );
      }
    },
  });
  new Gauge({
    name: 'redisGunYu_output_full_sync',
    help: 'RDB replay progress in percent',
    labelNames: ['input'],
    registers: [registry],
    collect() {
      this.reset();
      for (const syncer of service.syncers)
        this.set({ input: syncer.options.inputAddress }, syncer.counters.fullSyncPercent());
    },
  });
  new Counter({
    name: 'redisGunYu_syncer_role_change',
    help: 'pipeline restarts caused by a source topology change, plus fencing role changes (leader/follower)',
    labelNames: ['input'],
    registers: [registry],
    collect() {
      this.reset();
      for (const syncer of service.syncers)
        this.inc(
          { input: syncer.options.inputAddress },
          syncer.counters.cluster.topologyRestarts + syncer.guard.roleChanges,
        );
    },
  });
  new Gauge({
    name: 'redisGunYu_fencing_leader',
    help: '1 while this process owns the input on the target (fencing lease), 0 as a follower (kvforge)',
    labelNames: ['input'],
    registers: [registry],
    collect() {
      this.reset();
      for (const syncer of service.syncers)
        this.set({ input: syncer.options.inputAddress }, syncer.guard.role === 'leader' ? 1 : 0);
    },
  });
  new Counter({
    name: 'redisGunYu_output_cluster_redirect',
    help: 'cluster target: commands re-sent after MOVED, ASK, or TRYAGAIN/CLUSTERDOWN/lost node (kvforge)',
    labelNames: ['input', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const syncer of service.syncers) {
        const { moved, ask, retried } = syncer.counters.cluster;
        const input = syncer.options.inputAddress;
        this.inc({ input, kind: 'moved' }, moved);
        this.inc({ input, kind: 'ask' }, ask);
        this.inc({ input, kind: 'retry' }, retried);
      }
    },
  });
  new Counter({
    name: 'redisGunYu_output_cluster_split',
    help: 'cluster target: cross-slot commands / source transactions split per slot (kvforge)',
    labelNames: ['input', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const syncer of service.syncers) {
        const input = syncer.options.inputAddress;
        this.inc({ input, kind: 'command' }, syncer.counters.cluster.splitCommands);
        this.inc({ input, kind: 'transaction' }, syncer.counters.cluster.splitTransactions);
      }
    },
  });
  new Counter({
    name: 'redisGunYu_output_cross_slot_cmd',
    help: 'cluster target: commands refused with CROSSSLOT (not splittable), by command name (kvforge)',
    labelNames: ['input', 'command'],
    registers: [registry],
    collect() {
      this.reset();
      for (const syncer of service.syncers) {
        for (const [command, count] of syncer.counters.cluster.crossSlot)
          this.inc({ input: syncer.options.inputAddress, command }, count);
      }
    },
  });
  const spoolGauge = (name: string, help: string, read: (spool: SpoolStats) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['input'],
      registers: [registry],
      collect() {
        this.reset();
        for (const syncer of service.syncers)
          this.set({ input: syncer.options.inputAddress }, syncer.spool ? read(syncer.spool) : 0);
      },
    });
  };
  spoolGauge('redisGunYu_storage_size', 'spool bytes on disk not yet replayed', (spool) => spool.diskBytes);
  spoolGauge(
    'redisGunYu_spool_memory_bytes',
    'spool bytes held in memory (kvforge)',
    (spool) => spool.memoryBytes,
  );
}

interface SpoolStats {
  readonly diskBytes: number;
  readonly memoryBytes: number;
}
