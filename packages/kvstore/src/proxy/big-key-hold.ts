import type { BucketTable } from '../core/bucket-table';
import { BackendConnection } from './backend-connection';
import type { MigrateHost, MigratingKey } from './migrate-on-access';
import type { ReplySlot } from './reply-slot';

const HOLD_TIMEOUT_ERROR = Buffer.from('-ERR request timeout (big key migration in progress)\r\n');

interface Held {
  /** The big key (hex of the stored key) this request waits for. */
  hex: string;
  source: BackendConnection;
  /** The whole MIGRATE command, copied: the client's read buffer is reused. */
  migrate: Buffer;
  step: ReplySlot;
  heldAt: number;
}

interface BigKey {
  hex: string;
  bucket: number;
  /** The client's key (the stored key without its `<bucket>_`). */
  key: Buffer;
}

/**
 * Requests that touch a big key the mover copies in chunks wait here, with their MIGRATE step already
 * built, until the table no longer lists that key; then the MIGRATE goes out (it finds nothing on the
 * source: NOKEY) and the request follows to the destination. Nothing else waits. A request held
 * longer than `request_timeout` gets an error (not acknowledged, so never a lost write).
 */
export class BigKeyHold {
  private keys: BigKey[] = [];
  private held: Held[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Requests held since start (diagnostics). */
  totalHeld = 0;

  constructor(private readonly host: MigrateHost & { readonly config: { request_timeout: number } }) {}

  /** Called on every table install; releases the requests whose key left the list. */
  update(table: BucketTable): void {
    const listed = table.migratingBigKeys ?? [];
    if (listed.length === 0 && this.keys.length === 0) return;
    this.keys = listed.map((hex) => {
      const stored = Buffer.from(hex, 'hex');
      const underscore = stored.indexOf(0x5f);
      return {
        hex,
        bucket: Number(stored.subarray(0, underscore).toString()),
        key: stored.subarray(underscore + 1),
      };
    });
    const still = new Set(listed);
    const release = this.held.filter((entry) => !still.has(entry.hex));
    if (release.length === 0) return;
    this.held = this.held.filter((entry) => still.has(entry.hex));
    for (const entry of release) this.send(entry);
  }

  /** The big key in flight (hex) that one of `keys` (all of the migrating bucket) is, if any. */
  match(keys: MigratingKey[], buffer: Buffer): string | undefined {
    for (const big of this.keys) {
      for (const key of keys) {
        if (key.bucket !== big.bucket) continue;
        const same = key.rewritten
          ? key.rewritten.equals(big.key)
          : big.key.compare(buffer, key.start, key.end) === 0;
        if (same) return big.hex;
      }
    }
    return undefined;
  }

  hold(hex: string, source: BackendConnection, migrate: Buffer, step: ReplySlot): void {
    this.held.push({ hex, source, migrate, step, heldAt: Date.now() });
    this.totalHeld++;
    this.timer ??= setTimeout(() => this.expire(), this.host.config.request_timeout * 1000).unref();
  }

  /** Whether any big key is in flight (the router asks only then). */
  get active(): boolean {
    return this.keys.length > 0;
  }

  private send({ source, migrate, step }: Held): void {
    if (!source.accepting) {
      const followUp = step.followUp!;
      this.host.deliver(followUp.target, followUp.part, BackendConnection.downError, true);
      return;
    }
    source.output.writeRaw(migrate);
    source.expect(step, 0);
    this.host.markBackend(source);
  }

  private expire(): void {
    this.timer = undefined;
    const limitMs = this.host.config.request_timeout * 1000;
    const now = Date.now();
    const kept: Held[] = [];
    for (const entry of this.held) {
      if (now - entry.heldAt < limitMs) {
        kept.push(entry);
        continue;
      }
      const followUp = entry.step.followUp!;
      this.host.deliver(followUp.target, followUp.part, HOLD_TIMEOUT_ERROR, true);
    }
    this.held = kept;
    if (kept.length > 0) {
      const wait = Math.max(1, limitMs - (now - kept[0]!.heldAt));
      this.timer = setTimeout(() => this.expire(), wait).unref();
    }
  }
}
