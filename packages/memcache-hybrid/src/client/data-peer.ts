import { COPY_PAYLOAD_BYTES, DATA_OPCODE } from '../local/data-protocol';
import { DataLane, Transfer } from './data-lane';

export interface DataPeerOptions {
  /** Connections per local service; slices of one transfer are spread over them. */
  lanes: number;
  /** Largest slice; a transfer is cut into slices of this size. */
  sliceBytes: number;
  /** Pending requests with no byte back for this long fail (the peer is frozen or gone). */
  timeoutMs?: number;
}

export const DEFAULT_DATA_PEER_OPTIONS: Readonly<DataPeerOptions> = Object.freeze({
  lanes: 4,
  sliceBytes: 1024 * 1024,
  timeoutMs: 30_000,
});

/**
 * The client's connections to one local service. Lanes are opened on first use and reopened after a
 * failure; slices go round-robin over the lanes.
 */
export class DataPeer {
  private lanes: DataLane[] = [];
  private connecting: Promise<DataLane[]> | undefined;
  private nextLane = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly options: DataPeerOptions,
  ) {}

  /** Copies `data` into the segment range starting at `offset`; `view`: the leader view that allocated it. */
  async write(
    medium: number,
    offset: number,
    data: Buffer,
    view: number,
    onBytes?: (bytes: number) => void,
  ): Promise<void> {
    const lanes = this.readyLanes() ?? (await this.ready());
    const transfer = new Transfer(onBytes);
    const slice = this.options.sliceBytes;
    for (let at = 0; at < data.length || at === 0; at += slice) {
      const end = Math.min(data.length, at + slice);
      this.pick(lanes).send(
        DATA_OPCODE.WRITE,
        medium,
        offset + at,
        end - at,
        data.subarray(at, end),
        undefined,
        0,
        transfer,
        view,
      );
      if (end === data.length) break;
    }
    return transfer.seal();
  }

  /** Reads `length` bytes of the segment at `offset` into `target` at `targetOffset`. */
  async read(
    medium: number,
    offset: number,
    length: number,
    target: Buffer,
    targetOffset = 0,
    onBytes?: (bytes: number) => void,
  ): Promise<void> {
    const lanes = this.readyLanes() ?? (await this.ready());
    const transfer = new Transfer(onBytes);
    const slice = this.options.sliceBytes;
    for (let at = 0; at < length || at === 0; at += slice) {
      const end = Math.min(length, at + slice);
      this.pick(lanes).send(
        DATA_OPCODE.READ,
        medium,
        offset + at,
        end - at,
        undefined,
        target,
        targetOffset + at,
        transfer,
      );
      if (end === length) break;
    }
    return transfer.seal();
  }

  /** Has the local service copy one of its ranges into another of its segments (demotion). */
  async copy(
    fromMedium: number,
    fromOffset: number,
    length: number,
    toMedium: number,
    toOffset: number,
    view: number,
  ): Promise<void> {
    const lanes = await this.ready();
    const destination = Buffer.alloc(COPY_PAYLOAD_BYTES);
    destination[0] = toMedium;
    destination.writeUInt32LE(toOffset % 2 ** 32, 8);
    destination.writeUInt32LE(Math.floor(toOffset / 2 ** 32), 12);
    const transfer = new Transfer();
    this.pick(lanes).send(
      DATA_OPCODE.COPY,
      fromMedium,
      fromOffset,
      length,
      destination,
      undefined,
      0,
      transfer,
      view,
    );
    return transfer.seal();
  }

  close(): void {
    for (const lane of this.lanes) lane.close();
    this.lanes = [];
  }

  private pick(lanes: DataLane[]): DataLane {
    const lane = lanes[this.nextLane % lanes.length] as DataLane;
    this.nextLane = (this.nextLane + 1) % lanes.length;
    return lane;
  }

  /** The open lanes when none has failed (no promise hop on the hot path), else undefined. */
  private readyLanes(): DataLane[] | undefined {
    const lanes = this.lanes;
    if (lanes.length === 0) return undefined;
    for (const lane of lanes) if (lane.failure) return undefined;
    return lanes;
  }

  private ready(): Promise<DataLane[]> {
    const open = this.readyLanes();
    if (open) return Promise.resolve(open);
    this.connecting ??= (async () => {
      try {
        for (const lane of this.lanes) lane.close();
        this.lanes = [];
        const count = Math.max(1, this.options.lanes);
        const opened = await Promise.allSettled(
          Array.from({ length: count }, () => DataLane.connect(this.host, this.port, this.options.timeoutMs)),
        );
        const lanes = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
        const refused = opened.find((result) => result.status === 'rejected');
        if (refused) {
          for (const lane of lanes) lane.close();
          throw refused.reason;
        }
        this.lanes = lanes;
        return lanes;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }
}
