import { RequestScanner, RespWriter } from '@kvforge/resp';
import { type Logger, SILENT_LOGGER, sleep } from '@kvforge/runtime';
import type { ClusterTopology } from '../core/cluster/cluster-topology';
import {
  ANY_NODE,
  BROADCAST_COMMANDS,
  LOCAL_COMMANDS,
  parseRedirect,
  type Redirect,
  routingKeyIndex,
  SPLITTABLE_STEP,
} from '../core/cluster/command-routing';
import { CLUSTER_SLOTS, keySlot } from '../core/cluster/key-slot';
import { commandName } from '../core/command-name';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';
import { endpointOf, readClusterTopology } from '../net/cluster-nodes';
import type { ClusterCounters } from './sync-counters';
import { type BatchError, type BatchResult, type RedisEndpoint, TargetConnection } from './target-connection';
import type { TargetLink } from './target-link';

/** Rounds of re-sending one batch's redirected commands before giving up (GunYu: 3 retries 1 s apart). */
const MAX_ROUNDS = 30;
const ASKING = Buffer.from('*1\r\n$6\r\nASKING\r\n');

/** A piece of a batch that goes to one node: a command, a slice of a split command, or a MULTI…EXEC. */
interface Unit {
  slot: number;
  /** A broadcast copy goes to this master whatever the slot. */
  address: string | undefined;
  parts: Uint8Array[];
  replies: number;
  /** Batch index of its first reply; a split slice answers for `firstIndex` alone (`merged`). */
  firstIndex: number;
  merged: boolean;
  name: string;
  /** ASK: the next attempt goes to this node, after ASKING. */
  askAddress: string | undefined;
  redirect: Redirect | undefined;
  lost: Error | undefined;
  errors: BatchError[];
}

interface ParsedBatch {
  units: Unit[];
  local: BatchError[];
}

function unit(slot: number, parts: Uint8Array[], replies: number, firstIndex: number, name: string): Unit {
  return {
    slot,
    address: undefined,
    parts,
    replies,
    firstIndex,
    merged: false,
    name,
    askAddress: undefined,
    redirect: undefined,
    lost: undefined,
    errors: [],
  };
}

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
  private readonly scanner = new RequestScanner();
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
  ) {}

  async connect(): Promise<void> {
    await this.refreshTopology();
    await this.ensureConnected(this.masters);
  }

  send(bytes: Uint8Array, replyCount: number): Promise<BatchResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    let parsed: ParsedBatch;
    try {
      parsed = this.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), replyCount);
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

  /** The master serving `slot` (tests, status). */
  ownerOf(slot: number): string | undefined {
    return this.owners[slot];
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

  /** Splits a batch into units (whole commands, per-slot slices, single-slot transactions). */
  private parse(bytes: Buffer, replyCount: number): ParsedBatch {
    const scanner = this.scanner;
    const units: Unit[] = [];
    const local: BatchError[] = [];
    let group: { first: number; units: Unit[]; parts: Uint8Array[] } | undefined;
    let index = 0;
    let position = 0;
    while (position < bytes.length) {
      const end = scanner.scan(bytes, position, bytes.length);
      if (end < 0) throw new GunyuError(GUNYU_ERROR_CODES.target, 'incomplete command in a cluster batch');
      const data = bytes.subarray(position, end);
      position = end;
      if (scanner.argumentCount === 0) continue;
      const name = commandName(bytes, scanner.argumentStarts[0] as number, scanner.argumentEnds[0] as number);
      if (name === 'MULTI' && !group) {
        group = { first: index++, units: [], parts: [data] };
        continue;
      }
      if (name === 'EXEC' && group) {
        group.parts.push(data);
        this.closeGroup(group, index, units);
        group = undefined;
        index++;
        continue;
      }
      const target = group ? group.units : units;
      if (LOCAL_COMMANDS.has(name)) {
        const db = bytes.toString('latin1', scanner.argumentStarts[1] ?? 0, scanner.argumentEnds[1] ?? 0);
        if (db !== '0') local.push({ index, message: 'ERR SELECT is not allowed in cluster mode' });
        if (group) group.parts.push(data);
      } else {
        this.commandUnits(bytes, data, name, index, target);
        if (group) group.parts.push(data);
      }
      index++;
    }
    if (group) throw new GunyuError(GUNYU_ERROR_CODES.target, 'MULTI without EXEC in a cluster batch');
    if (index !== replyCount)
      throw new GunyuError(
        GUNYU_ERROR_CODES.target,
        `cluster batch holds ${index} commands, ${replyCount} expected`,
      );
    return { units, local };
  }

  /** A source transaction: kept whole where every key is in one slot, else replayed command by command. */
  private closeGroup(
    group: { first: number; units: Unit[]; parts: Uint8Array[] },
    execIndex: number,
    units: Unit[],
  ): void {
    const slots = new Set(group.units.filter((item) => item.slot !== ANY_NODE).map((item) => item.slot));
    const single = slots.size <= 1 && group.units.every((item) => item.address === undefined && !item.merged);
    if (single && group.parts.length === execIndex - group.first + 1) {
      const [slot] = slots;
      units.push(unit(slot ?? ANY_NODE, group.parts, group.parts.length, group.first, 'MULTI'));
      return;
    }
    // MULTI and EXEC are answered here (no error); each command goes on its own.
    this.counters.splitTransactions++;
    units.push(...group.units);
  }

  private commandUnits(bytes: Buffer, data: Buffer, name: string, index: number, units: Unit[]): void {
    const scanner = this.scanner;
    const count = scanner.argumentCount;
    if (BROADCAST_COMMANDS.has(name)) {
      for (const address of this.masters) {
        const copy = unit(ANY_NODE, [data], 1, index, name);
        copy.address = address;
        copy.merged = true;
        units.push(copy);
      }
      return;
    }
    const step = SPLITTABLE_STEP.get(name);
    if (step !== undefined && count > 1 + step) {
      const split = this.split(bytes, name, step, index);
      if (split) {
        this.counters.splitCommands++;
        units.push(...split);
        return;
      }
    }
    const keyIndex = routingKeyIndex(name, count, () =>
      Number(bytes.toString('latin1', scanner.argumentStarts[2] ?? 0, scanner.argumentEnds[2] ?? 0)),
    );
    const slot =
      keyIndex === ANY_NODE
        ? ANY_NODE
        : keySlot(
            bytes,
            scanner.argumentStarts[keyIndex] as number,
            scanner.argumentEnds[keyIndex] as number,
          );
    units.push(unit(slot, [data], 1, index, name));
  }

  /** One command per slot for a cross-slot DEL-like (step 1) or MSET (step 2); undefined if one slot. */
  private split(bytes: Buffer, name: string, step: number, index: number): Unit[] | undefined {
    const scanner = this.scanner;
    const bySlot = new Map<number, number[]>();
    for (let argument = 1; argument + step - 1 < scanner.argumentCount; argument += step) {
      const slot = keySlot(
        bytes,
        scanner.argumentStarts[argument] as number,
        scanner.argumentEnds[argument] as number,
      );
      let list = bySlot.get(slot);
      if (!list) {
        list = [];
        bySlot.set(slot, list);
      }
      list.push(argument);
    }
    if (bySlot.size <= 1) return undefined;
    const units: Unit[] = [];
    const nameBytes = bytes.subarray(scanner.argumentStarts[0] as number, scanner.argumentEnds[0] as number);
    for (const [slot, argumentsOfSlot] of bySlot) {
      const writer = new RespWriter();
      writer.writeArrayHeader(1 + argumentsOfSlot.length * step).writeBulk(nameBytes);
      for (const argument of argumentsOfSlot) {
        for (let offset = 0; offset < step; offset++)
          writer.writeBulk(
            bytes.subarray(
              scanner.argumentStarts[argument + offset] as number,
              scanner.argumentEnds[argument + offset] as number,
            ),
          );
      }
      const slice = unit(slot, [writer.take()], 1, index, name);
      slice.merged = true;
      units.push(slice);
    }
    return units;
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

/** `[start, end)` of argument 1 in the head of a multibulk command (`*n $len name $len key …`). */
function secondArgument(head: Uint8Array): [number, number] | undefined {
  let position = 0;
  const line = (): number => {
    const start = position;
    while (position < head.length && head[position] !== 0x0d) position++;
    const value = Number(
      Buffer.from(head.buffer, head.byteOffset + start + 1, position - start - 1).toString('latin1'),
    );
    position += 2;
    return value;
  };
  if (head[0] !== 0x2a) return undefined;
  line();
  const nameLength = line();
  position += nameLength + 2;
  const keyLength = line();
  if (position + keyLength > head.length) return undefined;
  return [position, position + keyLength];
}
