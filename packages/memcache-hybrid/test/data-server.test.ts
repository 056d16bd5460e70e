import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COPY_PAYLOAD_BYTES,
  DATA_HEADER_BYTES,
  DATA_OPCODE,
  DATA_STATUS,
  DataPeer,
  DataServer,
  DataTransferError,
  HostMemoryBackend,
  MEDIUM,
  readDataHeader,
  writeDataHeader,
} from '../src/index';

const CAPACITY = 1024 * 1024;

function header(opcode: number, medium: number, offset: number, length: number, id = 1, view = 0): Buffer {
  const buffer = Buffer.alloc(DATA_HEADER_BYTES);
  writeDataHeader(buffer, 0, opcode, medium, 0, id, offset, length, view);
  return buffer;
}

const parsed = (reply: Buffer, index: number) =>
  readDataHeader(reply, index * DATA_HEADER_BYTES, {
    opcode: 0,
    medium: 0,
    status: 0,
    requestId: 0,
    offset: 0,
    length: 0,
    view: 0,
  });

/** Sends raw bytes and collects what comes back until `bytes` arrived or the server closed. */
function exchange(port: number, request: Buffer, bytes: number): Promise<{ reply: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const socket: Socket = connect({ port, host: '127.0.0.1' }, () => socket.write(request));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= bytes) {
        socket.destroy();
        resolve({ reply: Buffer.concat(chunks), closed: false });
      }
    });
    socket.on('close', () => resolve({ reply: Buffer.concat(chunks), closed: true }));
    socket.on('error', () => undefined);
  });
}

describe('DataServer (data protocol over a real socket)', () => {
  let server: DataServer;
  let port: number;
  const segment = new HostMemoryBackend(MEDIUM.DRAM, CAPACITY);

  beforeAll(async () => {
    server = new DataServer({ segments: new Map([[MEDIUM.DRAM, segment]]), maxTransferBytes: 256 * 1024 });
    port = (await server.listen(0, '127.0.0.1')).port;
  });
  afterAll(async () => {
    await server.close();
    segment.close();
  });

  it('refuses ranges outside the segment and a medium it does not hold; the connection goes on', async () => {
    const request = Buffer.concat([
      header(DATA_OPCODE.READ, MEDIUM.DRAM, CAPACITY - 10, 11, 1),
      header(DATA_OPCODE.READ, MEDIUM.HBM, 0, 4, 2),
      header(9, MEDIUM.DRAM, 0, 0, 3),
      header(DATA_OPCODE.READ, MEDIUM.DRAM, CAPACITY - 4, 4, 4),
    ]);
    const { reply } = await exchange(port, request, DATA_HEADER_BYTES * 4 + 4);
    const statuses = [0, 1, 2, 3].map((index) => parsed(reply, index).status);
    expect(statuses).toEqual([
      DATA_STATUS.OUT_OF_BOUNDS,
      DATA_STATUS.NO_SEGMENT,
      DATA_STATUS.BAD_OPCODE,
      DATA_STATUS.OK,
    ]);
  });

  it('an out-of-bounds WRITE is consumed and refused without touching the segment', async () => {
    const payload = Buffer.alloc(64, 0xee);
    const { reply } = await exchange(
      port,
      Buffer.concat([header(DATA_OPCODE.WRITE, MEDIUM.DRAM, CAPACITY - 32, 64), payload]),
      DATA_HEADER_BYTES,
    );
    expect(reply[2]).toBe(DATA_STATUS.OUT_OF_BOUNDS);
    expect(segment.view(CAPACITY - 32, 32).every((byte) => byte === 0)).toBe(true);
  });

  it('a header over maxTransferBytes (or garbage such as HTTP) is answered TOO_LARGE and closed', async () => {
    const oversize = await exchange(port, header(DATA_OPCODE.WRITE, MEDIUM.DRAM, 0, 512 * 1024), 1 << 30);
    expect(oversize.closed).toBe(true);
    expect(oversize.reply[2]).toBe(DATA_STATUS.TOO_LARGE);
    // A request as curl sends it (longer than one header): its bytes read as a huge length.
    const http = await exchange(
      port,
      Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1:5000\r\nUser-Agent: curl/8.5.0\r\n\r\n'),
      1 << 30,
    );
    expect(http.closed).toBe(true);
  });

  it('a client peer round-trips bytes fed in slices over several lanes, byte for byte', async () => {
    const peer = new DataPeer('127.0.0.1', port, { lanes: 3, sliceBytes: 1000 });
    try {
      const value = Buffer.from(Array.from({ length: 10_007 }, (_, index) => (index * 31) % 251));
      await peer.write(MEDIUM.DRAM, 4096, value, 0);
      const back = Buffer.alloc(value.length + 2);
      await peer.read(MEDIUM.DRAM, 4096, value.length, back, 1);
      expect(back.subarray(1, 1 + value.length).equals(value)).toBe(true);
      await expect(peer.read(MEDIUM.DRAM, CAPACITY - 1, 2, back)).rejects.toThrow(
        'range outside the segment',
      );
    } finally {
      peer.close();
    }
  });
  it('pipelined reads of seeded random sizes land byte for byte at their offsets, the bytes around them untouched', async () => {
    // Sizes from 1 B to 200 KiB on one lane and on three: replies share a socket read with the next header,
    // straddle the lane's 64 KiB scratch buffer, and are read in place into the target.
    let seed = 13;
    const random = (bound: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % bound;
    };
    const pattern = Buffer.from(
      Array.from({ length: CAPACITY }, (_, index) => (index * 7 + (index >> 9)) % 253),
    );
    for (const lanes of [1, 3]) {
      const peer = new DataPeer('127.0.0.1', port, { lanes, sliceBytes: 64 * 1024 + 5 });
      try {
        await peer.write(MEDIUM.DRAM, 0, pattern, 0);
        const reads: { offset: number; length: number; at: number }[] = [];
        let at = 0;
        for (let index = 0; index < 120; index++) {
          const length = 1 + (index % 4 === 0 ? random(200 * 1024) : random(300));
          reads.push({ offset: random(CAPACITY - length), length, at: at + 1 });
          at += length + 2;
        }
        const target = Buffer.alloc(at, 0xee);
        await Promise.all(
          reads.map((read) => peer.read(MEDIUM.DRAM, read.offset, read.length, target, read.at)),
        );
        let gap = 0;
        for (const read of reads) {
          expect(
            target
              .subarray(read.at, read.at + read.length)
              .equals(pattern.subarray(read.offset, read.offset + read.length)),
          ).toBe(true);
          if (target[read.at - 1] !== 0xee || target[read.at + read.length] !== 0xee) gap++;
        }
        expect(gap).toBe(0);
      } finally {
        peer.close();
      }
    }
  });
});

describe('DataServer view fencing (HA: writes allocated by a former meta leader)', () => {
  let server: DataServer;
  let port: number;
  const dram = new HostMemoryBackend(MEDIUM.DRAM, CAPACITY);
  const hbm = new HostMemoryBackend(MEDIUM.HBM, CAPACITY);

  beforeAll(async () => {
    server = new DataServer({
      segments: new Map([
        [MEDIUM.DRAM, dram],
        [MEDIUM.HBM, hbm],
      ]),
    });
    port = (await server.listen(0, '127.0.0.1')).port;
  });
  afterAll(async () => {
    await server.close();
    dram.close();
    hbm.close();
  });

  it('refuses WRITE and COPY stamped below the raised view, consuming the payload; newer views and reads pass', async () => {
    server.raiseView(7);
    server.raiseView(3); // never lowered
    expect(server.view).toBe(7);
    const copyDestination = Buffer.alloc(COPY_PAYLOAD_BYTES);
    copyDestination[0] = MEDIUM.DRAM;
    copyDestination.writeUInt32LE(8192, 8);
    hbm.write(0, Buffer.alloc(64, 0x11));
    const request = Buffer.concat([
      header(DATA_OPCODE.WRITE, MEDIUM.DRAM, 0, 64, 1, 6),
      Buffer.alloc(64, 0xee),
      header(DATA_OPCODE.WRITE, MEDIUM.DRAM, 4096, 64, 2, 7),
      Buffer.alloc(64, 0x77),
      header(DATA_OPCODE.WRITE, MEDIUM.DRAM, 4096 + 64, 64, 3, 8),
      Buffer.alloc(64, 0x88),
      header(DATA_OPCODE.COPY, MEDIUM.HBM, 0, 64, 4, 6),
      copyDestination,
      header(DATA_OPCODE.READ, MEDIUM.DRAM, 4096, 4, 5, 0),
    ]);
    const { reply } = await exchange(port, request, DATA_HEADER_BYTES * 5 + 4);
    const replies = [0, 1, 2, 3, 4].map((index) => parsed(reply, index));
    expect(replies.map((item) => item.status)).toEqual([
      DATA_STATUS.STALE_VIEW,
      DATA_STATUS.OK,
      DATA_STATUS.OK,
      DATA_STATUS.STALE_VIEW,
      DATA_STATUS.OK,
    ]);
    // A refusal names the view the service holds; the others echo the request's.
    expect(replies.map((item) => item.view)).toEqual([7, 7, 8, 7, 0]);
    expect(reply.subarray(DATA_HEADER_BYTES * 5).equals(Buffer.alloc(4, 0x77))).toBe(true);
    expect(dram.view(0, 64).every((byte) => byte === 0)).toBe(true);
    expect(dram.view(8192, 64).every((byte) => byte === 0)).toBe(true);
    expect(dram.view(4096 + 64, 64).every((byte) => byte === 0x88)).toBe(true);
  });

  it('a client peer gets the refusal as a DataTransferError with status STALE_VIEW', async () => {
    server.raiseView(9);
    const peer = new DataPeer('127.0.0.1', port, { lanes: 2, sliceBytes: 1000 });
    try {
      const failure = await peer.write(MEDIUM.DRAM, 0, Buffer.alloc(3000, 1), 8).catch((error) => error);
      expect(failure).toBeInstanceOf(DataTransferError);
      expect(failure).toMatchObject({ status: DATA_STATUS.STALE_VIEW, connectionLost: false });
      expect(dram.view(0, 3000).every((byte) => byte === 0)).toBe(true);
      await peer.write(MEDIUM.DRAM, 0, Buffer.alloc(3000, 2), 9);
      expect(dram.view(0, 3000).every((byte) => byte === 2)).toBe(true);
    } finally {
      peer.close();
    }
  });
});
