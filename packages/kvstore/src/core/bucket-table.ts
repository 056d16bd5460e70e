import { isValidAddress } from './address';
import { KVSTORE_ERROR_CODES, KvstoreError } from './errors';

/** The original's sentinel for "no bucket is migrating" (a uint16 0xFFFF). */
export const NO_MIGRATING_BUCKET = 0xffff;
export const MIN_BUCKET_COUNT = 256;
export const MAX_BUCKET_COUNT = 2048;

export type ClusterType = 'cache' | 'data_store';
export const CLUSTER_TYPES: readonly ClusterType[] = ['cache', 'data_store'];

/** One namespace's table. Immutable: every change returns a new table with `version + 1`. */
export interface BucketTable {
  readonly namespace: string;
  readonly clusterType: ClusterType;
  /**
   * The namespace's identity: set when it is created (the ConfigServer uses its clock, kept rising),
   * never changed after. A deleted and re-created namespace has a larger epoch, so its version 1 is
   * newer than the old namespace's version 21. 0 in tables written before epochs existed.
   */
  readonly epoch: number;
  readonly version: number;
  /** `owners[bucket]` = the Redis master address (`ip:port`) that owns the bucket. */
  readonly owners: readonly string[];
  /** `NO_MIGRATING_BUCKET` when none. */
  readonly migratingBucketId: number;
  /** The destination of the migrating bucket; `''` when none. */
  readonly migratingServerAddr: string;
  /**
   * The stored keys (`<bucket>_<key>`, hex) of the migrating bucket that the mover copies in chunks;
   * proxies hold requests for each until it leaves this list. Absent when none.
   */
  readonly migratingBigKeys?: readonly string[] | undefined;
}

function fail(code: (typeof KVSTORE_ERROR_CODES)[keyof typeof KVSTORE_ERROR_CODES], message: string): never {
  throw new KvstoreError(code, message);
}

/** Round-robin initial assignment: `owners[b] = addresses[b % n]` (the original's InitTable). */
export function createBucketTable(
  namespace: string,
  bucketCount: number,
  addresses: readonly string[],
  clusterType: ClusterType = 'data_store',
  epoch = 0,
): BucketTable {
  if (namespace.length === 0) fail(KVSTORE_ERROR_CODES.INIT_FAILED, 'namespace must not be empty');
  if (!Number.isInteger(bucketCount) || bucketCount < MIN_BUCKET_COUNT || bucketCount > MAX_BUCKET_COUNT) {
    fail(
      KVSTORE_ERROR_CODES.INIT_FAILED,
      `bucket_count must be an integer in [${MIN_BUCKET_COUNT}, ${MAX_BUCKET_COUNT}]`,
    );
  }
  if (addresses.length === 0) fail(KVSTORE_ERROR_CODES.INIT_FAILED, 'address_list must not be empty');
  for (const address of addresses) {
    if (!isValidAddress(address))
      fail(KVSTORE_ERROR_CODES.INVALID_ADDRESS, `invalid redis address: ${address}`);
  }
  if (new Set(addresses).size !== addresses.length) {
    fail(KVSTORE_ERROR_CODES.INIT_FAILED, 'address_list holds the same address twice');
  }
  const owners = Array.from({ length: bucketCount }, (_, bucket) => addresses[bucket % addresses.length]!);
  return {
    namespace,
    clusterType,
    epoch,
    version: 1,
    owners,
    migratingBucketId: NO_MIGRATING_BUCKET,
    migratingServerAddr: '',
  };
}

/** A table's place in time: the namespace's epoch, then the version inside that epoch. */
export interface TableStamp {
  readonly epoch: number;
  readonly version: number;
}

/**
 * True when `candidate` is strictly newer than `held`: a later namespace epoch, or the same epoch
 * and a higher version. Proxies install only newer tables, so a stale ConfigServer can never take
 * them back in time.
 */
export function isNewerTable(candidate: TableStamp, held: TableStamp): boolean {
  return candidate.epoch > held.epoch || (candidate.epoch === held.epoch && candidate.version > held.version);
}

/** The distinct owners in byte order (the original iterates a `std::map<string, …>`). */
export function serversOf(table: BucketTable): string[] {
  return [...new Set(table.owners)].sort(compareAddresses);
}

function compareAddresses(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Server → ascending bucket ids, servers in byte order: the JSON `table` of the spec. */
export function bucketsByServer(table: BucketTable): Map<string, number[]> {
  const result = new Map<string, number[]>();
  for (const server of serversOf(table)) result.set(server, []);
  table.owners.forEach((server, bucket) => {
    result.get(server)!.push(bucket);
  });
  return result;
}

function ownersFromServerMap(serverMap: Map<string, number[]>, bucketCount: number): string[] {
  const owners = new Array<string>(bucketCount);
  for (const [server, buckets] of serverMap) for (const bucket of buckets) owners[bucket] = server;
  return owners;
}

/** floor(B/n) per server, plus one for the first B%n servers in byte order, skipping `excluded`. */
function targetCounts(
  bucketCount: number,
  servers: readonly string[],
  excluded: string,
): Map<string, number> {
  const average = Math.floor(bucketCount / servers.length);
  let remainder = bucketCount % servers.length;
  const counts = new Map<string, number>();
  for (const server of servers) {
    let count = average;
    if (server !== excluded && remainder > 0) {
      count++;
      remainder--;
    }
    counts.set(server, count);
  }
  return counts;
}

function assertNotMigrating(table: BucketTable): void {
  if (table.migratingBucketId !== NO_MIGRATING_BUCKET) {
    fail(KVSTORE_ERROR_CODES.SCALE_FAILED, `bucket ${table.migratingBucketId} is migrating`);
  }
}

/**
 * Adds a server (cache mode): every existing server keeps its target count and hands its surplus,
 * taken from the back of its bucket list, to the new server — the original's `scale_up_table`.
 */
export function scaleUpTable(table: BucketTable, address: string): BucketTable {
  if (!isValidAddress(address)) fail(KVSTORE_ERROR_CODES.INVALID_ADDRESS, `not a valid addr: ${address}`);
  assertNotMigrating(table);
  const serverMap = bucketsByServer(table);
  if (serverMap.has(address)) fail(KVSTORE_ERROR_CODES.SCALE_FAILED, `${address} is already in the table`);
  if (serverMap.size + 1 > table.owners.length)
    fail(KVSTORE_ERROR_CODES.SCALE_FAILED, 'more servers than buckets');
  serverMap.set(address, []);
  const servers = [...serverMap.keys()].sort(compareAddresses);
  const counts = targetCounts(table.owners.length, servers, address);
  const received = serverMap.get(address)!;
  for (const server of servers) {
    if (server === address) continue;
    const buckets = serverMap.get(server)!;
    const keep = counts.get(server)!;
    while (buckets.length > keep) received.push(buckets.pop()!);
  }
  received.sort((left, right) => left - right);
  return {
    ...table,
    version: table.version + 1,
    owners: ownersFromServerMap(serverMap, table.owners.length),
  };
}

/**
 * Removes a server (cache mode): its buckets, taken from the back, are dealt to the remaining servers
 * in byte order until each reaches its target count — the original's `scale_down_table`.
 */
export function scaleDownTable(table: BucketTable, address: string): BucketTable {
  if (!isValidAddress(address)) fail(KVSTORE_ERROR_CODES.INVALID_ADDRESS, `not a valid addr: ${address}`);
  assertNotMigrating(table);
  const serverMap = bucketsByServer(table);
  const moving = serverMap.get(address);
  if (!moving) fail(KVSTORE_ERROR_CODES.SCALE_FAILED, `${address} is not in the table`);
  if (serverMap.size === 1) fail(KVSTORE_ERROR_CODES.SCALE_FAILED, 'only one redis server left');
  serverMap.delete(address);
  const servers = [...serverMap.keys()].sort(compareAddresses);
  const counts = targetCounts(table.owners.length, servers, address);
  for (const server of servers) {
    const buckets = serverMap.get(server)!;
    const target = counts.get(server)!;
    while (buckets.length < target && moving.length > 0) buckets.push(moving.pop()!);
  }
  return {
    ...table,
    version: table.version + 1,
    owners: ownersFromServerMap(serverMap, table.owners.length),
  };
}

/** Swaps an address everywhere (failover to a replica, or moving a master to a new instance). */
export function replaceServer(table: BucketTable, oldAddress: string, newAddress: string): BucketTable {
  if (!isValidAddress(oldAddress) || !isValidAddress(newAddress)) {
    fail(KVSTORE_ERROR_CODES.INVALID_ADDRESS, 'invalid addr format');
  }
  if (!table.owners.includes(oldAddress)) {
    fail(KVSTORE_ERROR_CODES.REPLACE_FAILED, `${oldAddress} is not in the table`);
  }
  if (oldAddress !== newAddress && table.owners.includes(newAddress)) {
    fail(KVSTORE_ERROR_CODES.REPLACE_FAILED, `${newAddress} is already in the table`);
  }
  return {
    ...table,
    version: table.version + 1,
    owners: table.owners.map((owner) => (owner === oldAddress ? newAddress : owner)),
    migratingServerAddr: table.migratingServerAddr === oldAddress ? newAddress : table.migratingServerAddr,
  };
}

/** Marks `bucket` as moving to `destination`; its keys are migrated on access and by the mover. */
export function startMigration(table: BucketTable, bucket: number, destination: string): BucketTable {
  if (!isValidAddress(destination))
    fail(KVSTORE_ERROR_CODES.INVALID_ADDRESS, `not a valid addr: ${destination}`);
  if (!Number.isInteger(bucket) || bucket < 0 || bucket >= table.owners.length) {
    fail(KVSTORE_ERROR_CODES.MIGRATION_FAILED, `no bucket ${bucket}`);
  }
  if (table.migratingBucketId !== NO_MIGRATING_BUCKET) {
    fail(KVSTORE_ERROR_CODES.MIGRATION_FAILED, `bucket ${table.migratingBucketId} is already migrating`);
  }
  if (table.owners[bucket] === destination) {
    fail(KVSTORE_ERROR_CODES.MIGRATION_FAILED, `bucket ${bucket} already lives on ${destination}`);
  }
  return {
    ...table,
    version: table.version + 1,
    migratingBucketId: bucket,
    migratingServerAddr: destination,
  };
}

/** Hands the migrating bucket to its destination and clears the migrating fields. */
export function completeMigration(table: BucketTable): BucketTable {
  if (table.migratingBucketId === NO_MIGRATING_BUCKET) {
    fail(KVSTORE_ERROR_CODES.MIGRATION_FAILED, 'no bucket is migrating');
  }
  const owners = [...table.owners];
  owners[table.migratingBucketId] = table.migratingServerAddr;
  return {
    ...table,
    version: table.version + 1,
    owners,
    migratingBucketId: NO_MIGRATING_BUCKET,
    migratingServerAddr: '',
    migratingBigKeys: undefined,
  };
}

/** Adds or removes (hex of the stored key) big keys in flight of the migrating bucket. */
export function changeMigratingBigKeys(
  table: BucketTable,
  change: { add?: readonly string[]; remove?: string },
): BucketTable {
  if (change.add?.length && table.migratingBucketId === NO_MIGRATING_BUCKET) {
    fail(KVSTORE_ERROR_CODES.MIGRATION_FAILED, 'no bucket is migrating');
  }
  const keys = [...new Set([...(table.migratingBigKeys ?? []), ...(change.add ?? [])])].filter(
    (key) => key !== change.remove,
  );
  return { ...table, version: table.version + 1, migratingBigKeys: keys.length > 0 ? keys : undefined };
}

/** The spec's JSON view: `table` maps each `ip:port` to its ascending bucket ids. */
export interface BucketTableJson {
  table: Record<string, number[]>;
  /** The namespace epoch (an addition to the spec's fields; absent from an old ConfigServer = 0). */
  epoch?: number;
  version: number;
  migrating_bucket_id: number;
  migrating_server_addr: string;
  /** Addition: hex of the stored keys being moved in chunks (only while there are). */
  migrating_big_keys?: string[];
}

export function bucketTableToJson(table: BucketTable): BucketTableJson {
  return {
    table: Object.fromEntries(bucketsByServer(table)),
    epoch: table.epoch,
    version: table.version,
    migrating_bucket_id: table.migratingBucketId,
    migrating_server_addr: table.migratingServerAddr,
    ...(table.migratingBigKeys ? { migrating_big_keys: [...table.migratingBigKeys] } : {}),
  };
}

/** Rebuilds a table from its JSON view (what a proxy receives); throws on an inconsistent table. */
export function bucketTableFromJson(
  namespace: string,
  clusterType: ClusterType,
  json: BucketTableJson,
): BucketTable {
  const entries = Object.entries(json.table);
  const bucketCount = entries.reduce((sum, [, buckets]) => sum + buckets.length, 0);
  const owners = new Array<string>(bucketCount);
  for (const [server, buckets] of entries) {
    for (const bucket of buckets) {
      if (!Number.isInteger(bucket) || bucket < 0 || bucket >= bucketCount || owners[bucket] !== undefined) {
        fail(KVSTORE_ERROR_CODES.INVALID_INPUT, `inconsistent bucket table: bucket ${bucket}`);
      }
      owners[bucket] = server;
    }
  }
  if (bucketCount === 0) fail(KVSTORE_ERROR_CODES.INVALID_INPUT, 'empty bucket table');
  return {
    namespace,
    clusterType,
    epoch: json.epoch ?? 0,
    version: json.version,
    owners,
    migratingBucketId: json.migrating_bucket_id,
    migratingServerAddr: json.migrating_server_addr,
    ...(json.migrating_big_keys?.length ? { migratingBigKeys: json.migrating_big_keys } : {}),
  };
}
