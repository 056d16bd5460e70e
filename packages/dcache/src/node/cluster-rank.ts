import type { Member } from '../core/partition-table';

/**
 * The merge rank of two clusters given by their members: more members wins, then the
 * lexicographically smaller lowest node id. True when `candidate` outranks `current`.
 */
export function outranks(candidate: readonly Member[], current: readonly Member[]): boolean {
  if (candidate.length !== current.length) return candidate.length > current.length;
  const lowest = (members: readonly Member[]) => members.map((member) => member.nodeId).sort()[0] ?? '';
  return lowest(candidate) < lowest(current);
}
