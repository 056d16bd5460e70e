import type { RequestScanner } from '@kvforge/resp';
import { RespWriter } from '@kvforge/resp';
import type { BucketTable } from '../core/bucket-table';
import { type CommandSpec, MERGE_KINDS } from '../core/command-table';
import { BackendConnection } from './backend-connection';
import { BigKeyHold } from './big-key-hold';
import type { ClientConnection } from './client-connection';
import { KeyPlacement } from './key-placement';
import { type MigratingKey, sendMigrate } from './migrate-on-access';
import type { ProxyRuntimeConfig } from './proxy-config';
import type { ProxyStats } from './proxy-stats';
import { ReplySlot } from './reply-slot';

/** What the router needs from the proxy that owns it. */
export interface RouterHost {
  /** Clock of the current read batch (ms, performance.now). */
  readonly now: number;
  readonly stats: ProxyStats;
  readonly config: ProxyRuntimeConfig;
  /** Queues an immediate reply (error) for the client, in order. */
  answer(client: ClientConnection, spec: CommandSpec, reply: Buffer, isError: boolean): void;
  /** Queues a slot that a backend will fill, in order. */
  push(client: ClientConnection, slot: ReplySlot): void;
  markBackend(backend: BackendConnection): void;
  deliver(slot: ReplySlot, part: number, reply: Buffer, isError: boolean): void;
}

/** The key of a backend connection in the proxy's map: RESP2 by address, RESP3 beside it. */
export function backendKey(address: string, protocol: 2 | 3): string {
  return protocol === 3 ? `${address}#resp3` : address;
}

/**
 * Key routing: single-key requests, multi-key split (one sub-request per backend, merged by the
 * slot), broadcasts, and migrate-on-access for the migrating bucket. Owns the installed table and
 * the bucket → backend array; the proxy owns the backend connections themselves.
 */
export class RequestRouter {
  readonly placement = new KeyPlacement();
  table: BucketTable | undefined;
  bucketBackends: BackendConnection[] = [];
  /** The same owners, over connections that speak RESP3 (for clients that sent HELLO 3). */
  bucketBackends3: BackendConnection[] = [];
  /** Builds requests that must wait (behind a MIGRATE) before they go to their backend. */
  private readonly scratch = new RespWriter();
  /** Requests for the big key the mover copies in chunks wait here (nothing else does). */
  readonly bigKeyHold: BigKeyHold;

  constructor(
    private readonly host: RouterHost,
    private readonly backends: Map<string, BackendConnection>,
  ) {
    this.bigKeyHold = new BigKeyHold(host);
  }

  routeSingle(
    client: ClientConnection,
    spec: CommandSpec,
    buffer: Buffer,
    start: number,
    end: number,
    scanner: RequestScanner,
    table: BucketTable,
  ): void {
    const starts = scanner.argumentStarts;
    const ends = scanner.argumentEnds;
    const pool = client.protocol === 3 ? this.bucketBackends3 : this.bucketBackends;
    const keyStart = starts[1]!;
    const keyEnd = ends[1]!;
    const bucket = this.placement.bucketOf(buffer, keyStart, keyEnd);
    const rewritten = this.placement.rewritten;
    const migrating = bucket === table.migratingBucketId;
    const backend = migrating ? this.migrationTarget(client.protocol) : pool[bucket]!;
    const source = pool[bucket]!;
    if (!backend?.accepting || (migrating && !source.accepting)) {
      this.host.stats.backendErrors++;
      this.host.answer(client, spec, BackendConnection.downError, true);
      return;
    }
    const slot = new ReplySlot(client, spec.id, this.host.now);
    this.host.push(client, slot);
    // Header and command name as sent, the rewritten key, then the remaining arguments as sent.
    const writer = migrating ? this.scratch : backend.output;
    writer.writeRaw(buffer, start, ends[0]! + 2);
    this.placement.writeKey(writer, bucket, buffer, keyStart, keyEnd, rewritten);
    writer.writeRaw(buffer, keyEnd + 2, end);
    if (migrating) {
      const request = this.scratch.take();
      sendMigrate(
        this.host,
        this.placement,
        this.table!.migratingServerAddr,
        source,
        [{ bucket, start: keyStart, end: keyEnd, rewritten }],
        buffer,
        {
          backend,
          request,
          target: slot,
          part: 0,
        },
        this.bigKeyHold,
      );
      return;
    }
    backend.expect(slot, 0);
    this.host.markBackend(backend);
  }

  /** The destination of the migrating bucket in the client's protocol pool (undefined when none). */
  migrationTarget(protocol: 2 | 3): BackendConnection | undefined {
    const address = this.table?.migratingServerAddr;
    return address ? this.backends.get(backendKey(address, protocol)) : undefined;
  }

  routeSplit(client: ClientConnection, spec: CommandSpec, buffer: Buffer, scanner: RequestScanner): void {
    const table = this.table!;
    const pool = client.protocol === 3 ? this.bucketBackends3 : this.bucketBackends;
    const argc = scanner.argumentCount;
    const starts = scanner.argumentStarts;
    const ends = scanner.argumentEnds;
    const step = spec.step;
    const keyCount = (argc - 1) / step;
    const groups = new Map<
      BackendConnection,
      { bucket: number; index: number; rewritten: Buffer | undefined }[]
    >();
    // Keys of a migrating bucket go to its destination, after a MIGRATE of those keys from the old owner.
    let migratingKeys: MigratingKey[] | undefined;
    for (let ordinal = 0; ordinal < keyCount; ordinal++) {
      const index = 1 + ordinal * step;
      const bucket = this.placement.bucketOf(buffer, starts[index]!, ends[index]!);
      const key = this.placement.rewritten;
      const migrating = bucket === table.migratingBucketId;
      const backend = migrating ? this.migrationTarget(client.protocol) : pool[bucket]!;
      if (migrating) {
        migratingKeys ??= [];
        migratingKeys.push({ bucket, start: starts[index]!, end: ends[index]!, rewritten: key });
      }
      if (!backend?.accepting || (migrating && !pool[bucket]!.accepting)) {
        this.host.stats.backendErrors++;
        this.host.answer(client, spec, BackendConnection.downError, true);
        return;
      }
      let group = groups.get(backend);
      if (!group) {
        group = [];
        groups.set(backend, group);
      }
      group.push({ bucket, index, rewritten: key });
    }
    const slot = new ReplySlot(client, spec.id, this.host.now);
    slot.merge = spec.merge;
    slot.pendingParts = groups.size;
    slot.keyCount = keyCount;
    slot.partReplies = new Array(groups.size);
    if (spec.merge === MERGE_KINDS.ARRAY) slot.partIndexes = [];
    this.host.push(client, slot);
    const name = buffer.subarray(starts[0]!, ends[0]!);
    let part = 0;
    const migrationTarget = migratingKeys ? this.migrationTarget(client.protocol) : undefined;
    for (const [backend, keys] of groups) {
      const deferred = backend === migrationTarget;
      const writer = deferred ? this.scratch : backend.output;
      writer.writeArrayHeader(1 + keys.length * step);
      writer.writeBulk(name);
      for (const { bucket, index, rewritten } of keys) {
        this.placement.writeKey(writer, bucket, buffer, starts[index]!, ends[index]!, rewritten);
        // MSET: the value follows its key as sent (header, bytes, CRLF).
        for (let extra = 1; extra < step; extra++) {
          const valueIndex = index + extra;
          writer.writeRaw(buffer, ends[valueIndex - 1]! + 2, ends[valueIndex]! + 2);
        }
      }
      if (slot.partIndexes) slot.partIndexes.push(keys.map(({ index }) => (index - 1) / step));
      if (deferred) {
        const source = pool[table.migratingBucketId]!;
        sendMigrate(
          this.host,
          this.placement,
          this.table!.migratingServerAddr,
          source,
          migratingKeys!,
          buffer,
          {
            backend,
            request: this.scratch.take(),
            target: slot,
            part,
          },
          this.bigKeyHold,
        );
      } else {
        backend.expect(slot, part);
        this.host.markBackend(backend);
      }
      part++;
    }
  }

  routeBroadcast(client: ClientConnection, spec: CommandSpec): void {
    const migrationTarget = this.migrationTarget(client.protocol);
    const pool = client.protocol === 3 ? this.bucketBackends3 : this.bucketBackends;
    const targets = [...new Set(migrationTarget ? [...pool, migrationTarget] : pool)];
    if (targets.some((backend) => !backend.accepting)) {
      this.host.stats.backendErrors++;
      this.host.answer(client, spec, BackendConnection.downError, true);
      return;
    }
    const slot = new ReplySlot(client, spec.id, this.host.now);
    slot.merge = MERGE_KINDS.SUM;
    slot.pendingParts = targets.length;
    slot.partReplies = new Array(targets.length);
    this.host.push(client, slot);
    targets.forEach((backend, part) => {
      backend.output.writeCommand([spec.name]);
      backend.expect(slot, part);
      this.host.markBackend(backend);
    });
  }
}
