import { connect, createServer, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BLOB_ACTION,
  FrameReader,
  MEDIUM,
  MetaRpcClient,
  MetaRpcServer,
  MetaService,
  MMC,
  RPC_OPCODE,
  RpcFrameError,
} from '../src/index';

let service: MetaService;
let server: MetaRpcServer;
let client: MetaRpcClient;
let port: number;

beforeEach(async () => {
  service = new MetaService();
  server = new MetaRpcServer({ service });
  ({ port } = await server.listen(0));
  client = await MetaRpcClient.connect(`tcp://127.0.0.1:${port}`);
});
afterEach(async () => {
  await client.close();
  await server.close();
});

/** Opens a raw socket, writes `bytes`, resolves when the server has closed it (and the socket is destroyed). */
async function sendAndAwaitClose(bytes: Buffer): Promise<void> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise((resolve) => socket.once('connect', resolve));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.on('error', () => undefined);
  socket.write(bytes);
  await closed;
}

describe('meta RPC over TCP', () => {
  it('mounts, allocates, commits, reads and removes', async () => {
    expect(await client.mount(0, MEDIUM.DRAM, 1 << 20)).toEqual([MMC.OK]);
    const [result, blobs] = await client.alloc('k', 5000, 1, 0);
    expect(result).toBe(MMC.OK);
    expect(blobs).toEqual([[0, MEDIUM.DRAM, 0, 5000, 0]]); // the last: the rank's write epoch (no local service: 0)
    expect(await client.updateState('k', 0, MEDIUM.DRAM, BLOB_ACTION.WRITE_OK)).toEqual([MMC.OK]);
    expect(await client.get('k')).toEqual([MMC.OK, [0, MEDIUM.DRAM, 0, 5000], 5000]);
    expect(await client.alloc('k', 1)).toEqual([MMC.DUPLICATED_OBJECT, [], 0]);
    expect(await client.remove('k')).toEqual([MMC.OK]);
    expect(await client.get('k')).toEqual([MMC.UNMATCHED_KEY, null, 0]);
  });

  it('pipelines 2000 requests and batch ops with per-item results', async () => {
    await client.mount(0, MEDIUM.DRAM, 64 << 20);
    const replies = await Promise.all(
      Array.from({ length: 2000 }, (_, index) => client.alloc(`key-${index}`, 4096)),
    );
    expect(replies.every(([result]) => result === MMC.OK)).toBe(true);
    const [batchResult, items] = (await client.call(RPC_OPCODE.BATCH_EXIST_KEY, ['key-1', 'missing'])) as [
      number,
      number[],
    ];
    expect(batchResult).toBe(MMC.ERROR); // an unwritten key is a real error, not a miss
    expect(items).toEqual([MMC.OBJECT_NOT_EXISTS, MMC.UNMATCHED_KEY]);
    const [, query] = (await client.call(RPC_OPCODE.BATCH_QUERY, ['key-5'])) as [
      number,
      { numBlobs: number }[],
    ];
    expect(query[0]?.numBlobs).toBe(1);
    expect(service.counters.get('alloc').successes).toBe(2000);
  });

  it('answers INVALID_PARAM to malformed arguments and unknown opcodes, and keeps the connection', async () => {
    expect(await client.call(RPC_OPCODE.BATCH_GET, 42)).toEqual([MMC.INVALID_PARAM]);
    expect(await client.call(99 as never, null)).toEqual([MMC.INVALID_PARAM]);
    expect(await client.call(RPC_OPCODE.PING)).toEqual([MMC.OK, 0]);
  });

  it('closes a connection that announces a frame over the configured limit, reports it and serves others', async () => {
    await server.close();
    const errors: unknown[] = [];
    server = new MetaRpcServer({ service, limits: { maxFrameBytes: 1024 }, onError: (e) => errors.push(e) });
    ({ port } = await server.listen(0));
    const header = Buffer.alloc(9);
    header.writeUInt32LE(1025, 0);
    await sendAndAwaitClose(header);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RpcFrameError);
    expect((errors[0] as RpcFrameError).message).toContain('1025-byte body, over the 1024-byte limit');
    // A body of exactly 1024 bytes still passes; the server keeps serving new connections.
    const other = await MetaRpcClient.connect(`127.0.0.1:${port}`);
    expect(await other.call(RPC_OPCODE.GET, 'x'.repeat(1021))).toEqual([MMC.UNMATCHED_KEY, null, 0]);
    expect(await other.call(RPC_OPCODE.PING)).toEqual([MMC.OK, 0]);
    await other.close();
  });

  it('closes a connection that sends garbage (an HTTP request) without crashing', async () => {
    const errors: unknown[] = [];
    await server.close();
    server = new MetaRpcServer({ service, onError: (e) => errors.push(e) });
    ({ port } = await server.listen(0));
    await sendAndAwaitClose(Buffer.from('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    expect(errors[0]).toBeInstanceOf(RpcFrameError);
    const other = await MetaRpcClient.connect(`tcp://127.0.0.1:${port}`);
    expect(await other.call(RPC_OPCODE.PING)).toEqual([MMC.OK, 0]);
    await other.close();
  });

  it('answers a frame whose body is not MessagePack with INVALID_PARAM and keeps the connection', async () => {
    const frame = Buffer.alloc(9 + 3);
    frame.writeUInt32LE(3, 0);
    frame.writeUInt32LE(77, 4);
    frame[8] = RPC_OPCODE.GET;
    frame.set([0xc1, 0xc1, 0xc1], 9); // 0xc1 is never used in MessagePack
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const reader = new FrameReader();
    const reply = new Promise<[number, Buffer]>((resolve) =>
      socket.on('data', (chunk: Buffer) =>
        reader.push(chunk, (requestId, _opcode, body) => resolve([requestId, Buffer.from(body)])),
      ),
    );
    socket.write(frame);
    const [requestId, body] = await reply;
    expect(requestId).toBe(77);
    expect(body).toEqual(Buffer.from([0x91, 0xd1, 0xf4, 0x48])); // [-3000]
    socket.destroy();
  });

  it('a client fed a garbage reply stream rejects its pending calls and closes, no uncaught error', async () => {
    const accepted: Socket[] = [];
    const liar = createServer((socket) => {
      accepted.push(socket);
      socket.on('error', () => undefined);
      socket.once('data', () => socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    const address = liar.address();
    const liarPort = typeof address === 'object' && address ? address.port : 0;
    const victim = await MetaRpcClient.connect(`tcp://127.0.0.1:${liarPort}`);
    await expect(victim.call(RPC_OPCODE.PING)).rejects.toBeInstanceOf(RpcFrameError);
    await expect(victim.call(RPC_OPCODE.PING)).rejects.toBeInstanceOf(RpcFrameError);
    await victim.close();
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => liar.close(resolve));
  });
});
