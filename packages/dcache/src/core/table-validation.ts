import { hostPort } from '@kvforge/runtime';
import { z } from 'zod';
import { DCACHE_ERROR_CODES, DcacheError } from './errors';
import type { PartitionTable } from './partition-table';

const memberSchema = z.object({ nodeId: z.string().min(1), address: hostPort });
const layoutSchema = z.object({
  members: z.array(memberSchema),
  owners: z.array(z.array(z.string().min(1))),
});

/** The wire shape of a partition table (POST /internal/cluster/table, join answers, GET table). */
export const partitionTableSchema = z.object({
  version: z.number().int().nonnegative(),
  coordinator: z.string().min(1),
  partitionCount: z.number().int().positive(),
  members: z.array(memberSchema).min(1),
  owners: z.array(z.array(z.string().min(1)).min(1)),
  previous: layoutSchema.optional(),
});

/**
 * Why `candidate` cannot be routed by a node with `partitionCount` partitions, or undefined when it
 * can: every partition has holders, each holder is a member, no member or holder twice. A table
 * that fails this would make every request of its partitions fail (`forward_failed`).
 */
export function tableProblem(candidate: PartitionTable, partitionCount: number): string | undefined {
  if (candidate.partitionCount !== partitionCount)
    return `partitionCount ${candidate.partitionCount} is not this cluster's ${partitionCount}`;
  if (candidate.owners.length !== partitionCount)
    return `owners lists ${candidate.owners.length} partitions, not ${partitionCount}`;
  const members = new Set<string>();
  for (const member of candidate.members) {
    if (members.has(member.nodeId)) return `member ${member.nodeId} is listed twice`;
    members.add(member.nodeId);
  }
  for (const [partition, holders] of candidate.owners.entries()) {
    if (holders.length === 0) return `partition ${partition} has no holder`;
    if (new Set(holders).size !== holders.length) return `partition ${partition} lists a holder twice`;
    const stranger = holders.find((nodeId) => !members.has(nodeId));
    if (stranger !== undefined) return `partition ${partition} is held by ${stranger}, not a member`;
  }
  if (candidate.previous !== undefined && candidate.previous.owners.length !== partitionCount)
    return `previous.owners lists ${candidate.previous.owners.length} partitions, not ${partitionCount}`;
  return undefined;
}

/** Parses and checks a table from anywhere (a peer's answer, a pushed body); throws INVALID_REQUEST. */
export function checkedTable(candidate: unknown, partitionCount: number): PartitionTable {
  const parsed = partitionTableSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(root)';
    throw new DcacheError(
      DCACHE_ERROR_CODES.INVALID_REQUEST,
      `malformed partition table: ${where}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const table = parsed.data as PartitionTable;
  const problem = tableProblem(table, partitionCount);
  if (problem !== undefined)
    throw new DcacheError(DCACHE_ERROR_CODES.INVALID_REQUEST, `invalid partition table: ${problem}`);
  return table;
}
