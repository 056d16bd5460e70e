import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { ANSWERS, decodeAnswer, INTERNAL_PATHS } from '../core/internal-api';
import { NodeForwarding } from './node-forwarding';
import type { ReadResult } from './node-options';
import type { PeerResponse } from './peer-client';

/**
 * Batch operations: keys grouped by primary, one request per owner and one replicate request per replica set.
 */
export abstract class NodeBatches extends NodeForwarding {
  async batchGet(keys: readonly string[]): Promise<Array<{ key: string } & ReadResult>> {
    const results = new Array<{ key: string } & ReadResult>(keys.length);
    const groups = this.groupByPrimary(keys);
    await Promise.all(
      [...groups].map(async ([primary, indexes]) => {
        if (primary === this.nodeId) {
          for (const index of indexes) {
            const key = keys[index]!;
            // Answered without an await when the node can (the common case: a smart client's batch).
            const entry = this.ownerReadNow(key, 0);
            results[index] =
              entry === undefined
                ? { key, ...(await this.ownerGet(key)) }
                : { key, found: entry !== null, valueJson: entry?.valueJson ?? 'null', nodeId: this.nodeId };
          }
          return;
        }
        try {
          this.counters.forwards++;
          const response = await this.peers.call(this.addressOf(primary), 'POST', INTERNAL_PATHS.batchGet, {
            body: { keys: indexes.map((index) => keys[index]) },
            headers: this.internalHeaders(),
          });
          const remote = decodeAnswer(ANSWERS.batchGet, response, primary).results;
          if (response.statusCode !== 200 || remote.length !== indexes.length) {
            throw new DcacheError(DCACHE_ERROR_CODES.DECODE_FAILED, `bad batch answer from ${primary}`);
          }
          for (const [position, index] of indexes.entries()) {
            const item = remote[position]!;
            results[index] = {
              key: keys[index]!,
              found: item.found,
              valueJson: item.found ? JSON.stringify(item.value) : 'null',
              nodeId: item.node_id,
            };
          }
        } catch {
          // The owner is unreachable or confused: per-key reads fall back to replicas.
          for (const index of indexes)
            results[index] = { key: keys[index]!, ...(await this.get(keys[index]!)) };
        }
      }),
    );
    return results;
  }

  async batchSet(
    items: ReadonlyArray<{ key: string; valueJson: string; ttlMs: number }>,
    retried = false,
  ): Promise<string[]> {
    for (const item of items) this.checkValue(item.key, item.valueJson);
    await this.refuseIfCutOff();
    const nodeIds = new Array<string>(items.length);
    const groups = this.groupByPrimary(items.map((item) => item.key));
    await Promise.all(
      [...groups].map(async ([primary, indexes]) => {
        const group = indexes.map((index) => items[index]!);
        if (primary === this.nodeId) await this.ownerBatchSet(group);
        else {
          this.counters.forwards++;
          // Stored JSON spliced in as each item's `value` (no parse and re-encode on this side).
          const items = group.map(
            (item) => `{"key":${JSON.stringify(item.key)},"value":${item.valueJson},"ttl_ms":${item.ttlMs}}`,
          );
          const body = `{"items":[${items.join(',')}]}`;
          if (!(await this.forwardBatch(primary, INTERNAL_PATHS.batchSet, body, retried))) {
            // The primary's table was newer (421) and is ours now: route this group again, once.
            const again = await this.batchSet(group, true);
            for (const [position, index] of indexes.entries()) nodeIds[index] = again[position]!;
            return;
          }
        }
        for (const index of indexes) nodeIds[index] = primary;
      }),
    );
    return nodeIds;
  }

  async batchDelete(keys: readonly string[], retried = false): Promise<string[]> {
    for (const key of keys) this.checkKey(key);
    await this.refuseIfCutOff();
    const nodeIds = new Array<string>(keys.length);
    const groups = this.groupByPrimary(keys);
    await Promise.all(
      [...groups].map(async ([primary, indexes]) => {
        const group = indexes.map((index) => keys[index]!);
        if (primary === this.nodeId) await this.ownerBatchDelete(group);
        else {
          this.counters.forwards++;
          if (!(await this.forwardBatch(primary, INTERNAL_PATHS.batchDelete, { keys: group }, retried))) {
            const again = await this.batchDelete(group, true);
            for (const [position, index] of indexes.entries()) nodeIds[index] = again[position]!;
            return;
          }
        }
        for (const index of indexes) nodeIds[index] = primary;
      }),
    );
    return nodeIds;
  }

  /** Sends a batch to its primary; false when the primary answered 421 and its table was adopted. */
  protected async forwardBatch(
    primary: string,
    path: string,
    body: unknown,
    retried: boolean,
  ): Promise<boolean> {
    let response: PeerResponse;
    const address = this.addressOf(primary);
    try {
      response = await this.peers.call(address, 'POST', path, {
        body,
        headers: this.internalHeaders(),
      });
    } catch (error) {
      this.counters.forwardFailures++;
      throw new DcacheError(
        DCACHE_ERROR_CODES.FORWARD_FAILED,
        `forward to ${primary} failed: ${String(error)}`,
      );
    }
    if (response.statusCode === 421 && !retried) {
      const before = this.tableValue;
      await this.adoptStaleAnswer(response.body, address).catch(() => undefined);
      if (this.tableValue !== before) return false;
    }
    if (response.statusCode !== 200) {
      const remote = ANSWERS.error.safeParse(response.body);
      throw new DcacheError(
        remote.success && remote.data.error === 'cache_error'
          ? DCACHE_ERROR_CODES.CACHE_ERROR
          : DCACHE_ERROR_CODES.FORWARD_FAILED,
        `node ${primary} answered ${response.statusCode}`,
      );
    }
    return true;
  }

  protected groupByPrimary(keys: readonly string[]): Map<string, number[]> {
    const groups = new Map<string, number[]>();
    for (const [index, key] of keys.entries()) {
      const primary = this.holdersOf(key).holders[0] ?? this.nodeId;
      let group = groups.get(primary);
      if (group === undefined) {
        group = [];
        groups.set(primary, group);
      }
      group.push(index);
    }
    return groups;
  }

  async ownerBatchGet(keys: readonly string[]): Promise<ReadResult[]> {
    return Promise.all(keys.map((key) => this.ownerGet(key)));
  }

  async ownerBatchSet(
    items: ReadonlyArray<{ key: string; valueJson: string; ttlMs: number }>,
    callerVersion?: number,
  ): Promise<void> {
    for (const item of items) this.checkValue(item.key, item.valueJson);
    await this.commitWrites(
      items.map((item) => ({ ...item, deleted: false })),
      callerVersion,
    );
  }

  async ownerBatchDelete(keys: readonly string[], callerVersion?: number): Promise<void> {
    for (const key of keys) this.checkKey(key);
    await this.commitWrites(
      keys.map((key) => ({ key, valueJson: 'null', ttlMs: 0, deleted: true })),
      callerVersion,
    );
  }
}
