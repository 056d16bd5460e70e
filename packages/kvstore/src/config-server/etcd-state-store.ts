import { Etcd3 } from 'etcd3';
import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';
import { type ConfigServerState, type ConfigStateStore, parseState, serializeState } from './state-store';

export interface EtcdStateStoreOptions {
  endpoints: string[];
  /** The one key holding the whole state (a single put is atomic). @default '/kvstore/config-server/state' */
  key?: string;
}

export const DEFAULT_ETCD_STATE_STORE_OPTIONS = { key: '/kvstore/config-server/state' };

/** The ConfigServer state in etcd (v3): one key, written with one atomic put. */
export class EtcdStateStore implements ConfigStateStore {
  private readonly client: Etcd3;
  private readonly key: string;

  constructor(options: EtcdStateStoreOptions) {
    this.client = new Etcd3({ hosts: options.endpoints });
    this.key = options.key ?? DEFAULT_ETCD_STATE_STORE_OPTIONS.key;
  }

  async load(): Promise<ConfigServerState | undefined> {
    let text: string | null;
    try {
      text = await this.client.get(this.key).string();
    } catch (error) {
      throw new KvstoreError(KVSTORE_ERROR_CODES.STORE_FAILED, `cannot read etcd key ${this.key}`, {
        cause: error,
      });
    }
    return text === null ? undefined : parseState(text, `etcd ${this.key}`);
  }

  async save(state: ConfigServerState): Promise<void> {
    try {
      await this.client.put(this.key).value(serializeState(state));
    } catch (error) {
      throw new KvstoreError(KVSTORE_ERROR_CODES.STORE_FAILED, `cannot write etcd key ${this.key}`, {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
