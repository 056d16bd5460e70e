import type { DcacheNode } from './dcache-node';

/**
 * Who decides the members of the table. Seeds mode: the nodes themselves (join through seeds, the
 * coordinator computes and pushes tables, removes dead nodes, merges split clusters). etcd mode:
 * heartbeat keys and a compare-and-swapped table key (`EtcdMembership`). The service runs either
 * through this one interface.
 */
export interface Membership {
  /** Begins taking part (the node's HTTP server is already listening). */
  start(): Promise<void>;
  /** Graceful leave: out of the table, then wait until the others pulled this node's partitions. */
  leave(): Promise<void>;
  /** Stops without deregistering: to the others this looks like a crash. */
  stop(): Promise<void>;
}

/** Seeds mode: the join, merge and rejoin rounds live in the node itself (DcacheNode). */
export class SeedMembership implements Membership {
  constructor(private readonly node: DcacheNode) {}

  async start(): Promise<void> {
    this.node.start();
  }

  leave(): Promise<void> {
    return this.node.leave();
  }

  async stop(): Promise<void> {}
}
