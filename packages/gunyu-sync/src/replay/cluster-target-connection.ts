import { RespWriter } from '@kvforge/resp';
import { type Logger, SILENT_LOGGER, sleep } from '@kvforge/runtime';
import type { ClusterTopology } from '../core/cluster/cluster-topology';
import { ANY_NODE, parseRedirect } from '../core/cluster/command-routing';
import { CLUSTER_SLOTS, keySlot } from '../core/cluster/key-slot';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';
import { endpointOf, readClusterTopology } from '../net/cluster-nodes';
import {
  ClusterBatchParser,
  type ParsedBatch,
  secondArgument,
  type Unit,
  unit,
} from './cluster-batch-parser';
import type { ClusterCounters } from './sync-counters';
import { type BatchError, type BatchResult, type RedisEndpoint, TargetConnection } from './target-connection';
import type { TargetLink } from './target-link';

/** Rounds of re-sending one batch's redirected commands before giving up (GunYu: 3 retries 1 s apart). */
const MAX_ROUNDS = 30;
const ASKING = Buffer.from('*1\r\n$6\r\nASKING\r\n');

/**
 * A Redis Cluster target: routes every command of a batch by the slot of its key to one pipelined
 * connection per master, splits cross-slot DEL/UNLINK/EXISTS/TOUCH/MSET per slot, and follows
 * MOVED/ASK/TRYAGAIN/CLUSTERDOWN with bounded retries. Order per key is kept: redirected commands
 * are re-sent in batch order, and while a batch is being redirected later batches wait behind it.
 */
export class ClusterTargetConnection implements TargetLink {
  private readonly connections = new Map<string, TargetConnection>();
  private readonly connecting = new Map<string, Promise<void>>();
  private owners: (string | undefined)[] = new Array(CLUSTER_SLOTS).fill(undefined);
  private masters: string[] = [];
  private readonly parser: ClusterBatchParser;
  /** Batches settle (and re-send their redirected commands) strictly in order. */
  private chain: Promise<void> = Promise.resolve();
  private outstanding = 0;
  /** The slot map changed under batches still in flight: new batches queue behind them. */
  private blocked = false;
  private closedError: Error | undefined;
  topology: ClusterTopology | undefined;

  constructor(
    private readonly seeds: readonly string[],
    private readonly template: RedisEndpoint,
    private readonly counters: ClusterCounters,
    private readonly logger: Logger = SILENT_LOGGER,
  ) {
    this.parser = new ClusterBatchParser(counters);
  }

  async connect(): Promise<void> {
    await this.refreshTopology();
    await this.ensureConnected(this.masters);
  }

  send(bytes: Uint8Array, replyCount: number): Promise<BatchResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    let parsed: ParsedBatch;
    try {
      parsed = this.parser.parse(
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        replyCount,
        this.masters,
      );
    } catch (error) {
      return Promise.reject(error);
    }
    return this.submit(parsed);
  }

  sendParts(parts: readonly Uint8Array[], replyCount: number): Promise<BatchResult> {
    if (parts.length === 1) return this.send(parts[0] as Uint8Array, replyCount);
    if (this.closedError) return Promise.reject(this.closedError);
    // One command whose bulk payload is a separate piece: its key is in the first piece.
    const head = parts[0] as Uint8Array;
    const key = secondArgument(head);
    const slot = key ? keySlot(head, key[0], key[1]) : 0;
    return this.submit({ units: [unit(slot, [...parts], replyCount, 0, 'RESTORE')], local: [] });
  }

  /**
   * A transaction batch (one keyless script) to the master owning `slot`, in order with every other
   * batch. It is never re-sent: a redirect or a lost connection (was it applied?) is an error reply.
   */
  sendPinned(slot: number, parts: readonly Uint8Array[]): Promise<BatchResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    const pinned = unit(slot, [...parts], 1, 0, 'EVAL');
    pinned.pinned = true;
    return this.submit({ units: [pinned], local: [] });
  }

  sendCommands(commands: readonly (readonly (string | Buffer)[])[]): Promise<BatchResult> {
    const writer = new RespWriter();
    for (const command of commands) writer.writeCommand(command);
    return this.send(writer.take(), commands.length);
  }

  close(): void {
    this.closedError ??= new GunyuError(GUNYU_ERROR_CODES.stopped, 'target connection closed by the syncer');
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }

  /** The master serving `slot` as this router knows it. */
  ownerOf(slot: number): string | undefined {
    return this.owners[slot];
  }

  /** The open connection to a master, for callers that route by slot themselves (RDB lanes). */
  connectionTo(address: string): TargetConnection | undefined {
    return this.closedError ? undefined : this.connections.get(address);
  }

  private submit(batch: ParsedBatch): Promise<BatchResult> {
    this.outstanding++;
    let settled: Promise<BatchResult>;
    if (!this.blocked && this.ready(batch.units)) {
      // The common path: written now, in call order, on the current slot map.
      const written = this.dispatch(batch.units);
      settled = this.chain.then(() => written).then(() => this.settle(batch));
    } else {
      settled = this.chain.then(async () => {
        await this.ensureConnected(this.addressesOf(batch.units));
        await this.dispatch(batch.units);
        return this.settle(batch);
      });
    }
    this.chain = settled.then(
      () => this.release(),
      () => this.release(),
    );
    return settled;
  }

  private release(): void {
    if (--this.outstanding === 0) this.blocked = false;
  }

  private targetOf(item: Unit): string | undefined {
    return (
      item.askAddress ?? item.address ?? (item.slot === ANY_NODE ? this.masters[0] : this.owners[item.slot])
    );
  }

  private addressesOf(units: readonly Unit[]): string[] {
    const addresses = new Set<string>();
    for (const item of units) {
      const address = this.targetOf(item);
      if (address) addresses.add(address);
    }
    return [...addresses];
  }

  private ready(units: readonly Unit[]): boolean {
    for (const item of units) {
      const address = this.targetOf(item);
      if (address && !this.connections.has(address)) return false;
    }
    return true;
  }

  /** Writes every unit to its node (one write per node) and records each unit's outcome. */
  private dispatch(units: readonly Unit[]): Promise<unknown> {
    const perNode = new Map<
      string,
      { parts: Uint8Array[]; owners: (Unit | undefined)[]; offsets: number[] }
    >();
    for (const item of units) {
      item.redirect = undefined;
      item.lost = undefined;
      item.errors = [];
      const address = this.targetOf(item);
      const connection = address ? this.connections.get(address) : undefined;
      if (!address || !connection) {
        item.redirect = { kind: 'clusterdown' };
        continue;
      }
      let node = perNode.get(address);
      if (!node) {
        node = { parts: [], owners: [], offsets: [] };
        perNode.set(address, node);
      }
      if (item.askAddress) {
        node.parts.push(ASKING);
        node.owners.push(undefined);
        node.offsets.push(0);
      }
      for (const part of item.parts) node.parts.push(part);
      for (let reply = 0; reply < item.replies; reply++) {
        node.owners.push(item);
        node.offsets.push(reply);
      }
    }
    const sent: Promise<void>[] = [];
    for (const [address, node] of perNode) {
      const connection = this.connections.get(address) as TargetConnection;
      sent.push(
        connection.sendParts(node.parts, node.owners.length).then(
          (result) => {
            for (const error of result.errors) {
              const owner = node.owners[error.index];
              if (!owner) continue; // the reply of an ASKING
              const redirect = parseRedirect(error.message);
              if (redirect) owner.redirect ??= redirect;
              else
                owner.errors.push({
                  index: owner.merged
                    ? owner.firstIndex
                    : owner.firstIndex + (node.offsets[error.index] as number),
                  message: error.message,
                });
            }
          },
          (error: Error) => {
            this.connections.delete(address);
            for (const owner of node.owners) if (owner) owner.lost = error;
          },
        ),
      );
    }
    return Promise.all(sent);
  }

  /** Re-sends redirected units until none is left (bounded), then builds the batch result. */
  private async settle(batch: ParsedBatch): Promise<BatchResult> {
    let pending = batch.units.filter((item) => item.redirect || item.lost);
    for (const item of pending) {
      if (!item.pinned) continue;
      const reason = item.lost
        ? `connection lost: ${item.lost.message}`
        : `redirected (${item.redirect?.kind})`;
      item.errors.push({ index: item.firstIndex, message: `ERR transaction batch not confirmed, ${reason}` });
    }
    pending = pending.filter((item) => !item.pinned);
    for (let round = 1; pending.length > 0; round++) {
      if (this.closedError) throw this.closedError;
      if (round > MAX_ROUNDS) {
        for (const item of pending)
          item.errors.push({
            index: item.firstIndex,
            message: `ERR gave up after ${MAX_ROUNDS} redirections (${item.redirect?.kind ?? item.lost?.message})`,
          });
        break;
      }
      this.blocked = true;
      let refresh = false;
      let pause = false;
      for (const item of pending) {
        const redirect = item.redirect;
        item.askAddress = undefined;
        if (item.lost) {
          refresh = pause = true;
          this.counters.retried++;
        } else if (redirect?.kind === 'moved') {
          refresh = true;
          this.counters.moved++;
        } else if (redirect?.kind === 'ask') {
          item.askAddress = redirect.address;
          this.counters.ask++;
        } else {
          refresh = redirect?.kind === 'clusterdown';
          pause = true;
          this.counters.retried++;
        }
      }
      if (pause) await sleep(Math.min(1000, 50 * round));
      if (refresh)
        await this.refreshTopology().catch((error: Error) =>
          this.logger.warn({ error: error.message }, 'cluster topology refresh failed'),
        );
      // A MOVED names the owner authoritatively; it wins over a node whose view may lag.
      for (const item of pending)
        if (item.redirect?.kind === 'moved') this.owners[item.redirect.slot] = item.redirect.address;
      await this.ensureConnected(this.addressesOf(pending)).catch(() => {});
      await this.dispatch(pending);
      pending = pending.filter((item) => item.redirect || item.lost);
    }
    const errors: BatchError[] = [...batch.local];
    const seen = new Set(errors.map((error) => error.index));
    for (const item of batch.units) {
      for (const error of item.errors) {
        if (seen.has(error.index)) continue;
        seen.add(error.index);
        errors.push(error);
        if (error.message.startsWith('CROSSSLOT')) this.noteCrossSlot(item.name);
      }
    }
    errors.sort((a, b) => a.index - b.index);
    return { errors, aborted: false };
  }

  private noteCrossSlot(name: string): void {
    const count = (this.counters.crossSlot.get(name) ?? 0) + 1;
    this.counters.crossSlot.set(name, count);
    if (count === 1 || count % 1000 === 0)
      this.logger.warn(
        { command: name, count },
        'cross-slot command refused by the cluster target (not splittable)',
      );
  }

  /** Reads CLUSTER NODES from a known master or a seed and rebuilds the slot map. */
  async refreshTopology(): Promise<ClusterTopology> {
    const candidates = [...new Set([...this.masters, ...this.seeds])];
    const topology = await readClusterTopology(candidates, this.template);
    const owners: (string | undefined)[] = new Array(CLUSTER_SLOTS).fill(undefined);
    for (const shard of topology.shards) {
      for (const [from, to] of shard.slots) owners.fill(shard.master.address, from, to + 1);
    }
    this.owners = owners;
    this.masters = topology.shards.map((shard) => shard.master.address);
    this.topology = topology;
    return topology;
  }

  private async ensureConnected(addresses: readonly string[]): Promise<void> {
    await Promise.all(
      addresses.map((address) => {
        if (this.connections.has(address)) return undefined;
        let connecting = this.connecting.get(address);
        if (!connecting) {
          const connection = new TargetConnection(endpointOf(address, this.template));
          connecting = connection
            .connect()
            .then(() => {
              if (this.closedError) connection.close();
              else this.connections.set(address, connection);
            })
            .catch((error: Error) => {
              connection.close();
              throw error;
            })
            .finally(() => this.connecting.delete(address));
          this.connecting.set(address, connecting);
        }
        return connecting;
      }),
    );
  }
}
