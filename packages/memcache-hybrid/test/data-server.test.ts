import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DATA_HEADER_BYTES,
  DATA_OPCODE,
  DATA_STATUS,
  DataPeer,
  DataServer,
  HostMemoryBackend,
  MEDIUM,
  readDataHeader,
  writeDataHeader,
} from '../src/index';

const CAPACITY = 1024 * 1024;

function header(opcode: number, medium: number, offset: number, length: number, id = 1): Buffer {
  const buffer = Buffer.alloc(DATA_HEADER_BYTES);
  writeDataHeader(buffer, 0, opcode, medium, 0, id, offset, length);
  return buffer;
}

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
    const statuses = [0, 1, 2, 3].map(
      (index) =>
        readDataHeader(reply, index * DATA_HEADER_BYTES, {
          opcode: 0,
          medium: 0,
          status: 0,
          requestId: 0,
          offset: 0,
          length: 0,
        }).status,
    );
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
    const http = await exchange(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 1 << 30);
    expect(http.closed).toBe(true);
  });

  it('a client peer round-trips bytes fed in slices over several lanes, byte for byte', async () => {
    const peer = new DataPeer('127.0.0.1', port, { lanes: 3, sliceBytes: 1000 });
    try {
      const value = Buffer.from(Array.from({ length: 10_007 }, (_, index) => (index * 31) % 251));
      await peer.write(MEDIUM.DRAM, 4096, value);
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
});
