import { MMC } from '../core/codes';
import type { LeaderMetaClient } from '../rpc/leader-meta-client';
import { RPC_OPCODE } from '../rpc/rpc-protocol';
import { DataPeer } from './data-peer';
import { MemCacheError } from './mem-cache-error';
import { SharedMemoryFile } from './shared-memory-file';

/** How the client reaches one rank's bytes: its data-protocol lanes and its same-host segment files. */
export interface Route {
  peer: DataPeer;
  /** Same-host segment files by medium. */
  files: Map<number, SharedMemoryFile>;
}

export interface DataRoutesOptions {
  lanesPerPeer: number;
  sliceBytes: number;
  sharedMemory: boolean;
  transferTimeoutMs: number;
}

/**
 * The client's routes by rank, from the meta service's LIST_LOCAL_SERVICES; a route whose connection
 * failed is dropped and the list asked again next time (the rank may have moved or died).
 */
export class DataRoutes {
  private routes = new Map<number, Route>();
  private routesVersion = -1;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly meta: LeaderMetaClient,
    private readonly options: DataRoutesOptions,
  ) {}

  /** The cached route of `rank` (no promise hop on the hot path), if any. */
  known(rank: number): Route | undefined {
    return this.routes.get(rank);
  }

  async route(rank: number): Promise<Route> {
    const known = this.routes.get(rank);
    if (known) return known;
    await this.refresh();
    const route = this.routes.get(rank);
    if (!route)
      throw new MemCacheError('MMC_ERR_META', MMC.ERROR, `rank ${rank} has no local service registered`);
    return route;
  }

  /** A failed transfer may mean the rank moved or died: ask the meta service again next time. */
  forget(rank: number, route: Route): void {
    if (this.routes.get(rank) !== route) return;
    this.routes.delete(rank);
    this.routesVersion = -1;
    route.peer.close();
    for (const file of route.files.values()) void file.close();
  }

  /** The local services' data addresses; peers of ranks that moved or left are closed. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const [, version, services] = (await this.meta.call(RPC_OPCODE.LIST_LOCAL_SERVICES)) as [
          number,
          number,
          [number, string, number, [number, number, string | null][]][],
        ];
        if (version === this.routesVersion) return;
        const next = new Map<number, Route>();
        for (const [rank, host, port, segments] of services) {
          const old = this.routes.get(rank);
          if (old && old.peer.host === host && old.peer.port === port) {
            next.set(rank, old);
            continue;
          }
          const files = new Map<number, SharedMemoryFile>();
          if (this.options.sharedMemory) {
            for (const [medium, , path] of segments) {
              const file = path ? await SharedMemoryFile.open(path) : undefined;
              if (file) files.set(medium, file);
            }
          }
          const peer = new DataPeer(host, port, {
            lanes: this.options.lanesPerPeer,
            sliceBytes: this.options.sliceBytes,
            timeoutMs: this.options.transferTimeoutMs,
          });
          next.set(rank, { peer, files });
        }
        for (const [rank, route] of this.routes) {
          if (next.get(rank) === route) continue;
          route.peer.close();
          for (const file of route.files.values()) await file.close();
        }
        this.routes = next;
        this.routesVersion = version;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  async close(): Promise<void> {
    for (const route of this.routes.values()) {
      route.peer.close();
      for (const file of route.files.values()) await file.close();
    }
    this.routes.clear();
  }
}
