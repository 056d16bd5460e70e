import { assignTable, type Member, type PartitionTable } from './partition-table';

export interface PlanOptions {
  replicas: number;
  partitionCount: number;
  /** Who computes the table (it becomes the table's coordinator). */
  coordinator: string;
}

/**
 * The next table for `members`, computed by a coordinator that runs `current`. Sticky on `base`
 * (normally `current`; an interim table for a rejoin), numbered `bump` above `current`, and
 * carrying `previous`: the union of the holders in `current` and `base`, which is where every
 * partition's data is now — a node that never saw those tables still knows where to pull from.
 * `fresh` ignores the old layout (the first table of a cluster).
 */
export function planTable(
  current: PartitionTable,
  members: readonly Member[],
  options: PlanOptions,
  base: PartitionTable = current,
  bump = 1,
  fresh = false,
): PartitionTable {
  const next = assignTable(fresh ? undefined : base, members, {
    replicas: options.replicas,
    partitionCount: options.partitionCount,
    version: current.version + bump,
    coordinator: options.coordinator,
  });
  const known = [...current.members];
  for (const member of base.members)
    if (!known.some((other) => other.nodeId === member.nodeId)) known.push(member);
  const owners = current.owners.map((holders, partition) => {
    const union = [...holders];
    for (const nodeId of base.owners[partition] ?? []) if (!union.includes(nodeId)) union.push(nodeId);
    return union;
  });
  next.previous = { members: known, owners };
  return next;
}
