import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BLOB_ACTION,
  MEDIUM,
  MetaRpcClient,
  MetaRpcServer,
  MetaService,
  MMC,
  RPC_OPCODE,
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
  client.close();
  await server.close();
});

describe('meta RPC over TCP', () => {
  it('mounts, allocates, commits, reads and removes', async () => {
    expect(await client.mount(0, MEDIUM.DRAM, 1 << 20)).toEqual([MMC.OK]);
    const [result, blobs] = await client.alloc('k', 5000, 1, 0);
    expect(result).toBe(MMC.OK);
    expect(blobs).toEqual([[0, MEDIUM.DRAM, 0, 5000]]);
    expect(await client.updateState('k', 0, MEDIUM.DRAM, BLOB_ACTION.WRITE_OK)).toEqual([MMC.OK]);
    expect(await client.get('k')).toEqual([MMC.OK, [0, MEDIUM.DRAM, 0, 5000], 5000]);
    expect(await client.alloc('k', 1)).toEqual([MMC.DUPLICATED_OBJECT, []]);
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
    expect(await client.call(RPC_OPCODE.PING)).toEqual([MMC.OK]);
  });

  it('closes a connection that announces a frame over the limit', async () => {
    await server.close();
    server = new MetaRpcServer({ service, limits: { maxFrameBytes: 1024 } });
    ({ port } = await server.listen(0));
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const header = Buffer.alloc(9);
    header.writeUInt32LE(1 << 20, 0);
    socket.write(header);
    await new Promise((resolve) => socket.once('close', resolve));
    expect(socket.destroyed).toBe(true);
  });
});
