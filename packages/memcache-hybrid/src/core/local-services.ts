import type { Medium } from './codes';

/** A segment as its local service registered it: the memory, and optionally a same-host file for it. */
export interface LocalSegmentInfo {
  medium: Medium;
  capacity: number;
  /** A /dev/shm file holding the segment, for same-host clients (undefined: sockets only). */
  sharedMemoryPath: string | undefined;
}

/** A local service (one rank): where its data protocol listens and the segments it holds. */
export interface LocalServiceInfo {
  rank: number;
  host: string;
  port: number;
  segments: LocalSegmentInfo[];
  /** Its write epoch for this mount (HA fencing): allocations on the rank are stamped with it. 0: none. */
  epoch?: number;
}

/** The ranks whose local services are mounted, by rank (what clients need to reach a blob's bytes). */
export class LocalServiceRegistry {
  private readonly services = new Map<number, LocalServiceInfo>();
  /** Bumped on every change so clients can tell their copy is stale. */
  version = 0;

  set(info: LocalServiceInfo): void {
    this.services.set(info.rank, info);
    this.version++;
  }

  delete(rank: number): boolean {
    const deleted = this.services.delete(rank);
    if (deleted) this.version++;
    return deleted;
  }

  get(rank: number): LocalServiceInfo | undefined {
    return this.services.get(rank);
  }

  list(): LocalServiceInfo[] {
    return [...this.services.values()].sort((left, right) => left.rank - right.rank);
  }
}
