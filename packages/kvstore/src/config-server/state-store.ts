import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@kvforge/runtime';
import { z } from 'zod';
import { type BucketTable, CLUSTER_TYPES, NO_MIGRATING_BUCKET } from '../core/bucket-table';
import { KVSTORE_ERROR_CODES, KvstoreError } from '../core/errors';

/**
 * An in-flight online migration (one per namespace), persisted so a restarted ConfigServer resumes
 * it: `buckets` are the ones still to move, the first being the one in progress.
 */
export interface MigrationJobRecord {
  namespace: string;
  destination: string;
  buckets: number[];
  movedKeys: number;
}

/** Everything a ConfigServer must keep across restarts. */
export interface ConfigServerState {
  supportHa: boolean;
  tables: BucketTable[];
  /** Absent in states written before migrations were persisted. */
  migrations?: MigrationJobRecord[];
}

/** Where the ConfigServer keeps its state: a local file by default, etcd when one machine is outgrown. */
export interface ConfigStateStore {
  /** undefined when nothing was saved yet. */
  load(): Promise<ConfigServerState | undefined>;
  /** Atomic: after a crash, load() returns either the previous or the new state, never a mix. */
  save(state: ConfigServerState): Promise<void>;
  close?(): Promise<void>;
}

const tableSchema = z.object({
  namespace: z.string().min(1),
  clusterType: z.enum(CLUSTER_TYPES as [string, ...string[]]),
  epoch: z.number().int().nonnegative().default(0),
  version: z.number().int().nonnegative(),
  owners: z.array(z.string()).min(1),
  migratingBucketId: z.number().int().default(NO_MIGRATING_BUCKET),
  migratingServerAddr: z.string().default(''),
  migratingBigKeys: z.array(z.string()).optional(),
});

const migrationSchema = z.object({
  namespace: z.string().min(1),
  destination: z.string().min(1),
  buckets: z.array(z.number().int().nonnegative()),
  movedKeys: z.number().int().nonnegative(),
});

const stateSchema = z.object({
  formatVersion: z.literal(1),
  supportHa: z.boolean(),
  tables: z.array(tableSchema),
  migrations: z.array(migrationSchema).default([]),
});

export function serializeState(state: ConfigServerState): string {
  return `${JSON.stringify({
    formatVersion: 1,
    supportHa: state.supportHa,
    tables: state.tables,
    migrations: state.migrations ?? [],
  })}\n`;
}

export function parseState(text: string, source: string): ConfigServerState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new KvstoreError(KVSTORE_ERROR_CODES.STORE_FAILED, `${source}: not JSON`, { cause: error });
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) {
    throw new KvstoreError(KVSTORE_ERROR_CODES.STORE_FAILED, `${source}: ${z.prettifyError(parsed.error)}`);
  }
  return {
    supportHa: parsed.data.supportHa,
    tables: parsed.data.tables as BucketTable[],
    migrations: parsed.data.migrations,
  };
}

/** In-memory store for tests and embedding. */
export class MemoryStateStore implements ConfigStateStore {
  private text: string | undefined;
  async load(): Promise<ConfigServerState | undefined> {
    return this.text === undefined ? undefined : parseState(this.text, 'memory');
  }
  async save(state: ConfigServerState): Promise<void> {
    this.text = serializeState(state);
  }
}

/** `<dataDir>/kvstore-config.json`, replaced atomically (runtime writeFileAtomic: temp + fsync + rename + fsync dir). */
export class FileStateStore implements ConfigStateStore {
  readonly path: string;

  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, 'kvstore-config.json');
  }

  async load(): Promise<ConfigServerState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new KvstoreError(KVSTORE_ERROR_CODES.STORE_FAILED, `cannot read ${this.path}`, { cause: error });
    }
    return parseState(text, this.path);
  }

  async save(state: ConfigServerState): Promise<void> {
    try {
      await mkdir(this.dataDir, { recursive: true });
      await writeFileAtomic(this.path, serializeState(state), { mode: 0o600 });
    } catch (error) {
      throw new KvstoreError(KVSTORE_ERROR_CODES.STORE_FAILED, `cannot write ${this.path}`, { cause: error });
    }
  }
}
