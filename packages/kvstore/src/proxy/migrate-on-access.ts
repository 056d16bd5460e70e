import { RespWriter } from '@kvforge/resp';
import { parseAddress } from '../core/address';
import { BackendConnection } from './backend-connection';
import type { BigKeyHold } from './big-key-hold';
import type { KeyPlacement } from './key-placement';
import { writeMigrateHeader } from './migrate-command';
import { type FollowUp, ReplySlot } from './reply-slot';

const MIGRATE_TIMEOUT_MS = 5000;
/** Builds the MIGRATE of a held request (rare: only requests for a big key in flight). */
const heldScratch = new RespWriter();

/** A key of the migrating bucket inside a client request (offsets into the request buffer). */
export interface MigratingKey {
  bucket: number;
  start: number;
  end: number;
  rewritten: Buffer | undefined;
}

/** The proxy side that migrate-on-access reports to (the proxy itself: no closure per request). */
export interface MigrateHost {
  readonly now: number;
  readonly config: { redis_password: string };
  deliver(slot: ReplySlot, part: number, reply: Buffer, isError: boolean): void;
  markBackend(backend: BackendConnection): void;
}

/**
 * Migrate-on-access: `MIGRATE host port "" 0 timeout [AUTH pw] KEYS k…` to the bucket's old owner;
 * only once it answered (OK, or NOKEY when the keys already moved) does the real request (`followUp`)
 * go to the destination — so it never runs before its keys arrived.
 */
export function sendMigrate(
  host: MigrateHost,
  placement: KeyPlacement,
  destinationAddress: string,
  source: BackendConnection,
  keys: MigratingKey[],
  buffer: Buffer,
  followUp: FollowUp,
  hold?: BigKeyHold,
): void {
  const destination = parseAddress(destinationAddress)!;
  const held = hold?.active ? hold.match(keys, buffer) : undefined;
  const writer = held ? heldScratch : source.output;
  writeMigrateHeader(writer, destination, host.config.redis_password, keys.length, MIGRATE_TIMEOUT_MS);
  for (const key of keys) placement.writeKey(writer, key.bucket, buffer, key.start, key.end, key.rewritten);
  const step = new ReplySlot(followUp.target.client, followUp.target.commandId, host.now);
  step.followUp = followUp;
  if (held) {
    hold!.hold(held, source, heldScratch.take(), step);
    return;
  }
  source.expect(step, 0);
  host.markBackend(source);
}

/** The MIGRATE step answered: send the waiting request, or fail it with the MIGRATE error. */
export function continueAfterMigrate(
  host: MigrateHost,
  followUp: FollowUp,
  reply: Buffer,
  isError: boolean,
): void {
  if (isError) {
    host.deliver(followUp.target, followUp.part, reply, true);
    return;
  }
  const backend = followUp.backend as BackendConnection;
  if (!backend.accepting) {
    host.deliver(followUp.target, followUp.part, BackendConnection.downError, true);
    return;
  }
  backend.output.writeRaw(followUp.request);
  backend.expect(followUp.target, followUp.part);
  host.markBackend(backend);
}
