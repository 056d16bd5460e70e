import type { BlobState, Medium } from './codes';
import type { SegmentAllocator } from './segment-allocator';

// The meta service's data model: what MetaManager keeps per segment, object and blob.

export interface Blob {
  rank: number;
  medium: Medium;
  offset: number;
  size: number;
  state: BlobState;
  /** Readers holding a lease, and when the lease runs out (a crashed reader cannot pin a blob forever). */
  readers: number;
  leaseUntil: number;
}

export interface MemObject {
  key: string;
  size: number;
  prot: number;
  medium: Medium;
  blobs: Blob[];
  allocatedAt: number;
  /** HBM→DRAM demotion in progress: the DRAM blobs the local services are copying into (same ranks). */
  moving?: Blob[];
}

/** A demotion for the local services to carry out: copy each `from` blob into the `to` blob at its index. */
export interface BlobMove {
  key: string;
  from: readonly Blob[];
  to: readonly Blob[];
}

export interface Segment {
  name: string;
  rank: number;
  medium: Medium;
  allocator: SegmentAllocator;
}

export interface AllocRequest {
  size: number;
  replicas?: number;
  /** The writer's rank, tried first (-1: none); a list places replicas on those ranks in order first. */
  preferredRank?: number | readonly number[];
  /** Requested medium; default the top layer (HBM when any HBM segment is mounted). */
  medium?: Medium;
}

export interface MediumUsage {
  totalBytes: number;
  usedBytes: number;
}
