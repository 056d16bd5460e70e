import { describe, expect, it } from 'vitest';
import {
  bucketsByServer,
  bucketTableFromJson,
  bucketTableToJson,
  completeMigration,
  createBucketTable,
  NO_MIGRATING_BUCKET,
  replaceServer,
  scaleDownTable,
  scaleUpTable,
  startMigration,
} from './bucket-table';
import { KVSTORE_ERROR_CODES, KvstoreError } from './errors';

const A = '10.0.0.1:6379';
const B = '10.0.0.2:6379';
const C = '10.0.0.3:6379';
const D = '10.0.0.4:6379';

function counts(table: ReturnType<typeof createBucketTable>): Record<string, number> {
  return Object.fromEntries([...bucketsByServer(table)].map(([server, buckets]) => [server, buckets.length]));
}

function expectCode(action: () => unknown, code: string): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(KvstoreError);
    expect((error as KvstoreError).code).toBe(code);
    return;
  }
  throw new Error('expected an error');
}

describe('createBucketTable', () => {
  it('assigns buckets round robin and starts at version 1 with no migration', () => {
    const table = createBucketTable('ns', 256, [A, B, C]);
    expect(table.version).toBe(1);
    expect(table.owners[0]).toBe(A);
    expect(table.owners[1]).toBe(B);
    expect(table.owners[2]).toBe(C);
    expect(table.owners[255]).toBe(A);
    expect(counts(table)).toEqual({ [A]: 86, [B]: 85, [C]: 85 });
    expect(table.migratingBucketId).toBe(NO_MIGRATING_BUCKET);
    expect(table.migratingServerAddr).toBe('');
    expect(table.clusterType).toBe('data_store');
  });

  it('rejects bucket counts outside [256, 2048], bad and duplicate addresses', () => {
    expectCode(() => createBucketTable('ns', 255, [A]), KVSTORE_ERROR_CODES.INIT_FAILED);
    expectCode(() => createBucketTable('ns', 2049, [A]), KVSTORE_ERROR_CODES.INIT_FAILED);
    expectCode(() => createBucketTable('ns', 256.5, [A]), KVSTORE_ERROR_CODES.INIT_FAILED);
    expectCode(() => createBucketTable('ns', 256, []), KVSTORE_ERROR_CODES.INIT_FAILED);
    expectCode(() => createBucketTable('ns', 256, ['nope']), KVSTORE_ERROR_CODES.INVALID_ADDRESS);
    expectCode(() => createBucketTable('ns', 256, ['1.2.3.4:99999']), KVSTORE_ERROR_CODES.INVALID_ADDRESS);
    expectCode(() => createBucketTable('ns', 256, [A, A]), KVSTORE_ERROR_CODES.INIT_FAILED);
    expect(createBucketTable('ns', 2048, [A]).owners).toHaveLength(2048);
  });
});

describe('scaleUpTable', () => {
  it('moves only the surplus buckets, from the back of each list, to the new server', () => {
    const before = createBucketTable('ns', 256, [A, B, C], 'cache');
    const after = scaleUpTable(before, D);
    expect(after.version).toBe(2);
    // 256 / 4 = 64 each; the new server gets no remainder.
    expect(counts(after)).toEqual({ [A]: 64, [B]: 64, [C]: 64, [D]: 64 });
    let moved = 0;
    for (let bucket = 0; bucket < 256; bucket++) {
      if (before.owners[bucket] !== after.owners[bucket]) {
        moved++;
        expect(after.owners[bucket]).toBe(D);
      }
    }
    expect(moved).toBe(64);
    // A's surplus is its highest buckets: A held 0,3,…,255 and keeps the lowest 64.
    const aBuckets = bucketsByServer(after).get(A)!;
    expect(aBuckets[aBuckets.length - 1]).toBe(3 * 63);
  });

  it('gives the remainder to the first existing servers in byte order', () => {
    const after = scaleUpTable(createBucketTable('ns', 257, [A, B], 'cache'), C);
    // 257 / 3 = 85 rest 2: A and B keep 86, C gets 85.
    expect(counts(after)).toEqual({ [A]: 86, [B]: 86, [C]: 85 });
  });

  it('refuses an address already present and a bad address', () => {
    const table = createBucketTable('ns', 256, [A, B], 'cache');
    expectCode(() => scaleUpTable(table, A), KVSTORE_ERROR_CODES.SCALE_FAILED);
    expectCode(() => scaleUpTable(table, 'x'), KVSTORE_ERROR_CODES.INVALID_ADDRESS);
  });
});

describe('scaleDownTable', () => {
  it('deals the removed server buckets to the servers under target', () => {
    const before = createBucketTable('ns', 256, [A, B, C], 'cache');
    const after = scaleDownTable(before, B);
    expect(after.version).toBe(2);
    expect(counts(after)).toEqual({ [A]: 128, [C]: 128 });
    for (let bucket = 0; bucket < 256; bucket++) {
      if (before.owners[bucket] !== B) expect(after.owners[bucket]).toBe(before.owners[bucket]);
      else expect([A, C]).toContain(after.owners[bucket]);
    }
  });

  it('is undone by scaling up again to the same counts', () => {
    const table = createBucketTable('ns', 1000, [A, B, C], 'cache');
    const down = scaleDownTable(table, C);
    const up = scaleUpTable(down, C);
    expect(counts(up)).toEqual({ [A]: 334, [B]: 333, [C]: 333 });
    expect(up.version).toBe(3);
  });

  it('refuses the last server and an unknown server', () => {
    expectCode(() => scaleDownTable(createBucketTable('ns', 256, [A]), A), KVSTORE_ERROR_CODES.SCALE_FAILED);
    expectCode(
      () => scaleDownTable(createBucketTable('ns', 256, [A, B]), C),
      KVSTORE_ERROR_CODES.SCALE_FAILED,
    );
  });
});

describe('replaceServer', () => {
  it('swaps the address everywhere and bumps the version', () => {
    const before = createBucketTable('ns', 256, [A, B]);
    const after = replaceServer(before, A, C);
    expect(after.version).toBe(2);
    expect(after.owners.includes(A)).toBe(false);
    expect(counts(after)).toEqual({ [B]: 128, [C]: 128 });
    expect(after.owners[0]).toBe(C);
  });

  it('refuses unknown old, duplicate new and malformed addresses', () => {
    const table = createBucketTable('ns', 256, [A, B]);
    expectCode(() => replaceServer(table, C, D), KVSTORE_ERROR_CODES.REPLACE_FAILED);
    expectCode(() => replaceServer(table, A, B), KVSTORE_ERROR_CODES.REPLACE_FAILED);
    expectCode(() => replaceServer(table, 'bad', C), KVSTORE_ERROR_CODES.INVALID_ADDRESS);
  });
});

describe('migration', () => {
  it('sets then clears the migrating fields, moving the bucket', () => {
    const table = createBucketTable('ns', 256, [A, B]);
    const started = startMigration(table, 5, A);
    expect(started.migratingBucketId).toBe(5);
    expect(started.migratingServerAddr).toBe(A);
    expect(started.version).toBe(2);
    expectCode(() => startMigration(started, 6, A), KVSTORE_ERROR_CODES.MIGRATION_FAILED);
    expectCode(() => scaleUpTable(started, C), KVSTORE_ERROR_CODES.SCALE_FAILED);
    const done = completeMigration(started);
    expect(done.owners[5]).toBe(A);
    expect(done.migratingBucketId).toBe(NO_MIGRATING_BUCKET);
    expect(done.version).toBe(3);
    expectCode(() => completeMigration(done), KVSTORE_ERROR_CODES.MIGRATION_FAILED);
  });
});

describe('JSON view', () => {
  it('round-trips and lists servers in byte order with ascending buckets', () => {
    const table = createBucketTable('ns', 256, [B, A]);
    const json = bucketTableToJson(table);
    expect(Object.keys(json.table)).toEqual([A, B]);
    expect(json.table[B]!.slice(0, 3)).toEqual([0, 2, 4]);
    expect(json.migrating_bucket_id).toBe(65535);
    expect(bucketTableFromJson('ns', 'data_store', json)).toEqual(table);
  });

  it('rejects a table with a bucket listed twice', () => {
    expectCode(
      () =>
        bucketTableFromJson('ns', 'cache', {
          table: { [A]: [0, 1], [B]: [1] },
          version: 1,
          migrating_bucket_id: 65535,
          migrating_server_addr: '',
        }),
      KVSTORE_ERROR_CODES.INVALID_INPUT,
    );
  });
});
