import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { ANSWERS, decodeAnswer, INTERNAL_PATHS } from '../core/internal-api';
import { memberAddress as memberAddressOf } from '../core/partition-table';
import type { ReadResult } from './node-options';
import { NodeOwner } from './node-owner';
import { ForwardedReadBatcher, type ReadSink } from './read-batcher';

/** What a holder answered to a forwarded call. */
interface OwnerAnswer {
  nodeId: string;
  statusCode: number;
  text: string;
}

/**
 * Forwarding: a client operation on a node that does not own the key goes to the key's holders
 * through ONE path (`callOwner`), for the raw pass-through GET and for parsed answers alike.
 */
export abstract class NodeForwarding extends NodeOwner {
  private readonly readBatcher = new ForwardedReadBatcher({
    peers: this.peers,
    addressOfMember: (nodeId) => memberAddressOf(this.tableValue, nodeId),
    internalHeaders: () => this.internalHeaders(),
    singleRead: (key) => this.get(key, true),
    countForwards: (keys, failed) => {
      this.counters.forwards += keys;
      if (failed) this.counters.forwardFailures++;
    },
  });

  /**
   * A client GET this node cannot answer from memory, answered into `sink`. With a confirmed table
   * and another node as primary it joins this turn's batch to that owner (`ForwardedReadBatcher`);
   * otherwise, and for anything the batch cannot answer, it takes `get` (the single-key path).
   */
  forwardRead<Token>(key: string, sink: ReadSink<Token>, token: Token): void {
    const primary = this.tableIsFresh ? this.holdersOf(key).holders[0] : undefined;
    if (primary !== undefined && primary !== this.nodeId) {
      this.readBatcher.enqueue(primary, key, sink, token);
      return;
    }
    this.get(key, true).then(
      (result) => sink.result(token, key, result),
      (error: unknown) => sink.fail(token, error),
    );
  }

  /**
   * Calls the key's primary — for a read, then each replica — at `/internal/cache/{key}`.
   * - 421 (our table is stale): adopt the newer table and start again, once, under it.
   * - a network error, or for a read a 5xx: the next holder (a read falls back to the replicas;
   *   a write has only the primary and fails with forward_failed).
   * Returns undefined when, under the table in force, this node itself is the holder to use.
   */
  protected async callOwner(
    key: string,
    method: 'GET' | 'PUT' | 'DELETE',
    body?: string,
  ): Promise<OwnerAnswer | undefined> {
    const path = INTERNAL_PATHS.cache(key);
    const isRead = method === 'GET';
    let lastError: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      const { holders } = this.holdersOf(key);
      const candidates = isRead ? holders : holders.slice(0, 1);
      let staleAt: string | undefined;
      let staleAnswer = '';
      for (const [index, nodeId] of candidates.entries()) {
        if (nodeId === this.nodeId) return undefined;
        const address = this.addressOf(nodeId);
        this.counters.forwards++;
        let answer: { statusCode: number; text: string };
        try {
          answer = await this.peers.callRaw(address, method, path, {
            ...(body === undefined ? {} : { body }),
            headers: this.internalHeaders(),
          });
        } catch (error) {
          this.counters.forwardFailures++;
          lastError = error;
          continue;
        }
        if (answer.statusCode === 421) {
          staleAt = address;
          staleAnswer = answer.text;
          break;
        }
        if (isRead && answer.statusCode >= 500) {
          this.counters.forwardFailures++;
          lastError = new Error(`node ${nodeId} answered ${answer.statusCode}`);
          continue;
        }
        if (index > 0) this.counters.replicaFallbacks++;
        return { nodeId, statusCode: answer.statusCode, text: answer.text };
      }
      if (staleAt === undefined) break;
      await this.adoptStaleAnswer(parseJson(staleAnswer), staleAt).catch((error: unknown) => {
        lastError = error;
      });
    }
    throw new DcacheError(
      DCACHE_ERROR_CODES.FORWARD_FAILED,
      `no holder of the key answered: ${String(lastError ?? 'stale ring')}`,
      { cause: lastError },
    );
  }

  /** A client read. With `raw`, a forwarded answer keeps the owner's body (client format) as is. */
  async get(key: string, raw = false): Promise<ReadResult> {
    // A node that was paused routes by a confirmed table: its old one may name a replaced primary.
    if (!this.tableIsFresh) await this.confirmTable();
    const answer = await this.callOwner(key, 'GET');
    if (answer === undefined) return this.ownerGet(key);
    if (answer.statusCode !== 200 && answer.statusCode !== 404) {
      throw new DcacheError(
        DCACHE_ERROR_CODES.FORWARD_FAILED,
        `node ${answer.nodeId} answered ${answer.statusCode}`,
      );
    }
    if (raw)
      return { found: answer.statusCode === 200, valueJson: '', nodeId: answer.nodeId, rawBody: answer.text };
    const read = decodeAnswer(
      ANSWERS.read,
      { statusCode: answer.statusCode, body: parseJson(answer.text) },
      answer.nodeId,
    );
    return {
      found: read.found,
      valueJson: read.found ? JSON.stringify(read.value) : 'null',
      nodeId: read.node_id,
    };
  }

  async set(key: string, valueJson: string, ttlMs = 0): Promise<{ nodeId: string }> {
    this.checkValue(key, valueJson);
    await this.refuseIfCutOff();
    // The stored JSON is spliced in as `value`: no re-parse here, and the owner validates it as JSON.
    const answer = await this.callOwner(key, 'PUT', `{"value":${valueJson},"ttl_ms":${ttlMs}}`);
    if (answer === undefined) return this.ownerSet(key, valueJson, ttlMs);
    return { nodeId: this.writeAnswer(answer).node_id };
  }

  async delete(key: string): Promise<{ nodeId: string; existed: boolean }> {
    this.checkKey(key);
    await this.refuseIfCutOff();
    const answer = await this.callOwner(key, 'DELETE');
    if (answer === undefined) return this.ownerDelete(key);
    const body = this.writeAnswer(answer);
    return { nodeId: body.node_id, existed: body.existed ?? true };
  }

  /** The owner's write answer; its error (a missed quorum stays cache_error) otherwise. */
  private writeAnswer(answer: OwnerAnswer) {
    const body = parseJson(answer.text);
    if (answer.statusCode !== 200) {
      const remote = ANSWERS.error.safeParse(body);
      throw new DcacheError(
        remote.success && remote.data.error === 'cache_error'
          ? DCACHE_ERROR_CODES.CACHE_ERROR
          : DCACHE_ERROR_CODES.FORWARD_FAILED,
        `node ${answer.nodeId} answered ${answer.statusCode}: ${remote.success ? remote.data.message : ''}`,
      );
    }
    return decodeAnswer(ANSWERS.write, { statusCode: answer.statusCode, body }, answer.nodeId);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
