import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { ANSWERS, decodeAnswer, INTERNAL_PATHS } from '../core/internal-api';
import { groupByPartition, type WireEntry } from '../core/wire-entry';
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
          for (const index of indexes)
            results[index] = { key: keys[index]!, ...(await this.ownerGet(keys[index]!)) };
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

  async batchSet(items: ReadonlyArray<{ key: string; valueJson: string; ttlMs: number }>): Promise<string[]> {
    for (const item of items) this.checkValue(item.key, item.valueJson);
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
          await this.forwardBatch(primary, INTERNAL_PATHS.batchSet, `{"items":[${items.join(',')}]}`);
        }
        for (const index of indexes) nodeIds[index] = primary;
      }),
    );
    return nodeIds;
  }

  async batchDelete(keys: readonly string[]): Promise<string[]> {
    for (const key of keys) this.checkKey(key);
    const nodeIds = new Array<string>(keys.length);
    const groups = this.groupByPrimary(keys);
    await Promise.all(
      [...groups].map(async ([primary, indexes]) => {
        const group = indexes.map((index) => keys[index]!);
        if (primary === this.nodeId) await this.ownerBatchDelete(group);
        else {
          this.counters.forwards++;
          await this.forwardBatch(primary, INTERNAL_PATHS.batchDelete, { keys: group });
        }
        for (const index of indexes) nodeIds[index] = primary;
      }),
    );
    return nodeIds;
  }

  protected async forwardBatch(primary: string, path: string, body: unknown): Promise<void> {
    let response: PeerResponse;
    try {
      response = await this.peers.call(this.addressOf(primary), 'POST', path, {
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
    if (response.statusCode !== 200) {
      throw new DcacheError(
        DCACHE_ERROR_CODES.FORWARD_FAILED,
        `node ${primary} answered ${response.statusCode}`,
      );
    }
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
  ): Promise<void> {
    const entries = items.map((item) => {
      this.checkValue(item.key, item.valueJson);
      return this.store.set(item.key, item.valueJson, item.ttlMs);
    });
    const byPartition = groupByPartition(entries);
    await this.replicateGroups(byPartition);
  }

  async ownerBatchDelete(keys: readonly string[]): Promise<void> {
    const entries = keys.map((key) => {
      this.store.delete(key);
      return this.store.peekAny(key)!;
    });
    const byPartition = groupByPartition(entries);
    await this.replicateGroups(byPartition);
  }

  /** One replicate request per replica node for a whole batch. */
  protected async replicateGroups(byPartition: Map<number, WireEntry[]>): Promise<void> {
    const byReplicaSet = new Map<string, { partition: number; entries: WireEntry[] }>();
    for (const [partition, entries] of byPartition) {
      const signature = (this.tableValue.owners[partition] ?? []).join('\u0000');
      const group = byReplicaSet.get(signature);
      if (group === undefined) byReplicaSet.set(signature, { partition, entries: [...entries] });
      else group.entries.push(...entries);
    }
    await Promise.all(
      [...byReplicaSet.values()].map((group) => this.replicate(group.partition, group.entries)),
    );
  }
}
