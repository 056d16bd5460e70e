import { DEFAULT_PARTITION_COUNT } from './hash';

export interface Member {
  nodeId: string;
  address: string;
}

/**
 * The versioned routing table every node converges to. `owners[p]` lists the holders of partition
 * p: index 0 is the primary, the rest are replicas. A higher `version` always wins; equal versions
 * from different coordinators are ordered by coordinator id (see `isNewerTable`).
 */
export interface PartitionTable {
  version: number;
  coordinator: string;
  partitionCount: number;
  members: Member[];
  owners: string[][];
  /**
   * Holders the table was computed from: a node that never saw that table (a fresh joiner)
   * still knows where to pull its new partitions from.
   */
  previous?: TableLayout;
}

export interface TableLayout {
  members: Member[];
  owners: string[][];
}

export function emptyTable(member: Member, partitionCount = DEFAULT_PARTITION_COUNT): PartitionTable {
  return assignTable(undefined, [member], {
    replicas: 1,
    partitionCount,
    version: 1,
    coordinator: member.nodeId,
  });
}

/** Who a table routes to, as one comparable string: tells apart tables of equal version and coordinator. */
export function tableFingerprint(table: Pick<PartitionTable, 'members'>): string {
  return table.members.map((member) => `${member.nodeId}@${member.address}`).join(',');
}

export interface TableIdentity {
  version: number;
  coordinator: string;
  fingerprint: string;
}

/**
 * A total order on tables: higher version, then smaller coordinator id, then smaller fingerprint.
 * The last step matters after split clusters merge: the same coordinator may have computed two
 * different tables with one version, and every node must pick the same one.
 */
export function isNewerIdentity(candidate: TableIdentity, current: TableIdentity): boolean {
  if (candidate.version !== current.version) return candidate.version > current.version;
  if (candidate.coordinator !== current.coordinator) return candidate.coordinator < current.coordinator;
  return candidate.fingerprint < current.fingerprint;
}

export const tableIdentity = (table: PartitionTable): TableIdentity => ({
  version: table.version,
  coordinator: table.coordinator,
  fingerprint: tableFingerprint(table),
});

export function isNewerTable(candidate: PartitionTable, current: PartitionTable): boolean {
  return isNewerIdentity(tableIdentity(candidate), tableIdentity(current));
}

export interface AssignOptions {
  /** Total copies of each partition (primary included). */
  replicas: number;
  partitionCount: number;
  version: number;
  coordinator: string;
}

/**
 * Computes the next table from the previous one and the live members. It is sticky: a partition
 * keeps its holders while they live; a dead primary is replaced by its first live replica; nodes
 * above their fair share give partitions only to nodes below it. So a join moves partitions only
 * from old nodes to the new one, a leave only from the leaver, and the load is within one
 * partition of perfect (max/mean ≤ 1 + N/P).
 */
export function assignTable(
  previous: PartitionTable | undefined,
  members: readonly Member[],
  options: AssignOptions,
): PartitionTable {
  const sortedMembers = [...members].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  const nodeIds = sortedMembers.map((member) => member.nodeId);
  const alive = new Set(nodeIds);
  const partitionCount = options.partitionCount;
  const copies = Math.min(Math.max(1, options.replicas), nodeIds.length);
  const owners: string[][] = [];
  for (let partition = 0; partition < partitionCount; partition++) owners.push([]);
  const usable =
    previous !== undefined && previous.partitionCount === partitionCount ? previous.owners : undefined;

  for (let level = 0; level < copies; level++) {
    const current: Array<string | undefined> = new Array(partitionCount);
    const sticky: boolean[] = new Array(partitionCount).fill(false);
    for (let partition = 0; partition < partitionCount; partition++) {
      const chosen = owners[partition]!;
      const before = usable?.[partition] ?? [];
      let candidate: string | undefined;
      if (level === 0) {
        // Primary: the old primary if alive, else the first live old replica (it has the data).
        candidate = before.find((nodeId) => alive.has(nodeId));
      } else {
        // Replica slots keep any live old holder not already chosen, in the old order.
        candidate = before.find((nodeId) => alive.has(nodeId) && !chosen.includes(nodeId));
      }
      current[partition] = candidate;
      sticky[partition] = candidate !== undefined && before[level] === candidate;
    }
    // A node holds a partition at one level only (a primary that moved up is not also a replica).
    for (let partition = 0; partition < partitionCount; partition++) {
      const candidate = current[partition];
      if (candidate !== undefined && owners[partition]!.includes(candidate)) current[partition] = undefined;
    }
    balanceLevel(current, sticky, owners, nodeIds);
    for (let partition = 0; partition < partitionCount; partition++)
      owners[partition]!.push(current[partition]!);
  }
  return {
    version: options.version,
    coordinator: options.coordinator,
    partitionCount,
    members: sortedMembers.map((member) => ({ nodeId: member.nodeId, address: member.address })),
    owners,
  };
}

function balanceLevel(
  current: Array<string | undefined>,
  sticky: readonly boolean[],
  owners: string[][],
  nodeIds: readonly string[],
): void {
  const partitionCount = current.length;
  const counts = new Map<string, number>();
  for (const nodeId of nodeIds) counts.set(nodeId, 0);
  for (const nodeId of current) if (nodeId !== undefined) counts.set(nodeId, (counts.get(nodeId) ?? 0) + 1);
  const base = Math.floor(partitionCount / nodeIds.length);
  const extra = partitionCount % nodeIds.length;
  // The remainder goes to the nodes already holding most, so it causes no move.
  const byLoad = [...nodeIds].sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : 1));
  const target = new Map<string, number>();
  for (const [index, nodeId] of byLoad.entries()) target.set(nodeId, base + (index < extra ? 1 : 0));
  const eligibleUnder = (partition: number): string | undefined => {
    const taken = owners[partition]!;
    let best: string | undefined;
    for (const nodeId of nodeIds) {
      if (taken.includes(nodeId) || counts.get(nodeId)! >= target.get(nodeId)!) continue;
      if (best === undefined || counts.get(nodeId)! < counts.get(best)!) best = nodeId;
    }
    return best;
  };

  // 1. Orphans go to the least loaded eligible node, under-target ones first.
  for (let partition = 0; partition < partitionCount; partition++) {
    if (current[partition] !== undefined) continue;
    let best = eligibleUnder(partition);
    if (best === undefined) {
      const taken = owners[partition]!;
      for (const nodeId of nodeIds) {
        if (taken.includes(nodeId)) continue;
        if (best === undefined || counts.get(nodeId)! < counts.get(best)!) best = nodeId;
      }
    }
    current[partition] = best!;
    counts.set(best!, counts.get(best!)! + 1);
  }
  // 2. Nodes above target hand partitions straight to eligible nodes below it: promoted (non-sticky)
  // partitions first, then sticky ones, highest partition first (deterministic).
  for (const pass of [false, true]) {
    for (let partition = partitionCount - 1; partition >= 0; partition--) {
      if (sticky[partition] !== pass) continue;
      const nodeId = current[partition]!;
      if (counts.get(nodeId)! <= target.get(nodeId)!) continue;
      const receiver = eligibleUnder(partition);
      if (receiver === undefined) continue;
      current[partition] = receiver;
      counts.set(nodeId, counts.get(nodeId)! - 1);
      counts.set(receiver, counts.get(receiver)! + 1);
    }
  }
}

/** Partition counts per node at one level (0 = primaries). */
export function loadByNode(table: PartitionTable, level = 0): Map<string, number> {
  const counts = new Map<string, number>();
  for (const member of table.members) counts.set(member.nodeId, 0);
  for (const holders of table.owners) {
    const nodeId = holders[level];
    if (nodeId !== undefined) counts.set(nodeId, (counts.get(nodeId) ?? 0) + 1);
  }
  return counts;
}

export function memberAddress(table: PartitionTable, nodeId: string): string | undefined {
  for (const member of table.members) if (member.nodeId === nodeId) return member.address;
  return undefined;
}
