import { Etcd3, type Watcher } from 'etcd3';
import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';
import { type ConfigServerState, type ConfigStateStore, parseState, serializeState } from './state-store';

export interface EtcdStateStoreOptions {
  endpoints: string[];
  /** The one key holding the whole state (a single put is atomic). @default '/kvstore/config-server/state' */
  key?: string;
}

export const DEFAULT_ETCD_STATE_STORE_OPTIONS = { key: '/kvstore/config-server/state' };

function storeError(message: string, cause?: unknown): KvstoreError {
  return new KvstoreError(KVSTORE_ERROR_CODES.STORE_FAILED, message, cause === undefined ? {} : { cause });
}

/**
 * The ConfigServer state in etcd (v3): one key. Every save is a compare-and-swap on the key's mod
 * revision as this store last saw it (and, with a fence, on the master's election key still being
 * alive), so a ConfigServer holding stale state — or no longer master — can never overwrite newer
 * state. `watch()` delivers every state another ConfigServer writes.
 */
export class EtcdStateStore implements ConfigStateStore {
  readonly client: Etcd3;
  private readonly key: string;
  /** Mod revision of the state this store last read, watched or wrote ('0': the key did not exist). */
  private revision = 0n;
  private watcher: Watcher | undefined;
  /** The key that must exist for a save to go through (the master's campaign key). */
  private fenceKey: string | undefined;

  constructor(options: EtcdStateStoreOptions) {
    this.client = new Etcd3({ hosts: options.endpoints });
    this.key = options.key ?? DEFAULT_ETCD_STATE_STORE_OPTIONS.key;
  }

  /** Only while `key` exists do saves succeed (undefined: no fence). */
  setFence(key: string | undefined): void {
    this.fenceKey = key;
  }

  async load(): Promise<ConfigServerState | undefined> {
    let kv: { value: Buffer; mod_revision: string } | undefined;
    try {
      const response = await this.client.get(this.key).exec();
      kv = response.kvs[0];
      this.revision = kv ? BigInt(kv.mod_revision) : 0n;
    } catch (error) {
      throw storeError(`cannot read etcd key ${this.key}`, error);
    }
    return kv === undefined ? undefined : parseState(kv.value.toString('utf8'), `etcd ${this.key}`);
  }

  async save(state: ConfigServerState): Promise<void> {
    let succeeded: boolean;
    try {
      let transaction = this.client.if(this.key, 'Mod', '==', this.revision.toString());
      if (this.fenceKey !== undefined) transaction = transaction.and(this.fenceKey, 'Create', '>', 0);
      const response = await transaction
        .then(this.client.put(this.key).value(serializeState(state)))
        .commit();
      succeeded = response.succeeded;
      if (succeeded) this.advance(BigInt(response.header.revision));
    } catch (error) {
      throw storeError(`cannot write etcd key ${this.key}`, error);
    }
    if (!succeeded) {
      throw storeError(
        `etcd key ${this.key} changed since revision ${this.revision} or this ConfigServer is no longer master`,
      );
    }
  }

  /**
   * Calls `onState` with every state written to the key after the last one this store saw (its own
   * saves included only if their answer has not arrived yet). Resolves once the watch is set up.
   */
  async watch(onState: (state: ConfigServerState) => void, onError: (error: unknown) => void): Promise<void> {
    const watcher = await this.client
      .watch()
      .key(this.key)
      .startRevision((this.revision + 1n).toString())
      .create();
    this.watcher = watcher;
    watcher.on('put', (kv) => {
      const revision = BigInt(kv.mod_revision);
      if (revision <= this.revision) return;
      try {
        const state = parseState(kv.value.toString('utf8'), `etcd ${this.key}`);
        this.advance(revision);
        onState(state);
      } catch (error) {
        onError(error);
      }
    });
    watcher.on('error', onError);
  }

  async close(): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
    this.client.close();
  }

  private advance(revision: bigint): void {
    if (revision > this.revision) this.revision = revision;
  }
}
