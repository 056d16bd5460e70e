import type { Logger } from '@kvforge/runtime';
import { DataPeer } from '../client/data-peer';
import type { BlobMove } from '../core/meta-objects';
import type { MetaService } from '../core/meta-service';

/**
 * Carries out the meta service's HBM→DRAM demotions: each local service copies its own HBM blob into the
 * DRAM blob allocated on the same rank (the data protocol's COPY), then the move is committed — or, when
 * any copy fails, the object is evicted instead. The bytes never pass through the meta service.
 */
export class BlobMover {
  private readonly peers = new Map<number, DataPeer>();
  private running = 0;

  constructor(
    private readonly service: MetaService,
    private readonly logger: Logger,
  ) {}

  /** Starts every demotion the engine queued since the last call. */
  dispatch(): void {
    for (const move of this.service.manager.takeMoves()) void this.run(move);
  }

  get inFlight(): number {
    return this.running;
  }

  close(): void {
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
  }

  private async run(move: BlobMove): Promise<void> {
    this.running++;
    let copied = true;
    try {
      await Promise.all(
        move.from.map((source, index) => {
          const target = move.to[index];
          if (!target || target.rank !== source.rank) throw new Error('a demotion copies within one rank');
          return this.peer(source.rank).copy(
            source.medium,
            source.offset,
            source.size,
            target.medium,
            target.offset,
            // The rank's write epoch for this mount: a local service refuses an older one.
            this.service.localServices.get(source.rank)?.epoch ?? 0,
          );
        }),
      );
    } catch (error) {
      copied = false;
      this.logger.warn({ err: error, key: move.key }, 'demotion copy failed; the object is evicted instead');
    } finally {
      this.running--;
    }
    this.service.manager.completeMove(move, copied);
  }

  private peer(rank: number): DataPeer {
    const info = this.service.localServices.get(rank);
    if (!info) throw new Error(`rank ${rank} has no local service`);
    const known = this.peers.get(rank);
    if (known && known.host === info.host && known.port === info.port) return known;
    known?.close();
    const peer = new DataPeer(info.host, info.port, { lanes: 1, sliceBytes: 64 * 1024 * 1024 });
    this.peers.set(rank, peer);
    return peer;
  }
}
