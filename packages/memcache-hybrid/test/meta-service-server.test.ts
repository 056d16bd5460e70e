import { ManualClock, SILENT_LOGGER } from '@kvforge/runtime';
import type { FastifyBaseLogger } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MEDIUM,
  MetaRpcClient,
  type MetaServiceServer,
  MMC,
  RPC_OPCODE,
  startMetaServiceServer,
} from '../src/index';

// The runtime's silent logger plus the two members fastify checks on a loggerInstance.
const logger = { ...SILENT_LOGGER, fatal: () => undefined, trace: () => undefined, level: 'silent' };
const quietLogger = { ...logger, child: () => quietLogger } as unknown as FastifyBaseLogger;

const servers: MetaServiceServer[] = [];
const clients: MetaRpcClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const server of servers.splice(0)) await server.close();
});

async function start(options: Partial<Parameters<typeof startMetaServiceServer>[0]> = {}) {
  const server = await startMetaServiceServer({
    rpcUrl: 'tcp://127.0.0.1:0',
    restUrl: 'http://127.0.0.1:0',
    logger: quietLogger,
    ...options,
  });
  servers.push(server);
  const client = await MetaRpcClient.connect(`tcp://127.0.0.1:${server.rpc.port}`);
  clients.push(client);
  return { server, client, rest: `http://127.0.0.1:${server.rest.port}` };
}

describe('startMetaServiceServer', () => {
  it('serves RPC and REST on free ports, mounts at start and advertises the bound REST origin', async () => {
    const { server, client, rest } = await start({
      mounts: [{ rank: 0, medium: MEDIUM.DRAM, bytes: 1 << 20 }],
    });
    expect(await client.alloc('k', 4096, 1, 0)).toEqual([MMC.OK, [[0, MEDIUM.DRAM, 0, 4096, 0]], 0]);
    const health = (await (await fetch(`${rest}/health`)).json()) as { leader_address: string };
    expect(health.leader_address).toBe(`http://127.0.0.1:${server.rest.port}`);
    expect(server.advertisedOrigin).toBe(health.leader_address);
  });

  it('ticks on the injected clock: a never-committed object is reclaimed at allocated_timeout, not before', async () => {
    const clock = new ManualClock(5_000);
    const { client, server } = await start({
      clock,
      tickIntervalMs: 100,
      service: { allocatedTimeoutMilliseconds: 1000 },
      mounts: [{ rank: 0, medium: MEDIUM.DRAM, bytes: 1 << 20 }],
    });
    expect((await client.alloc('zombie', 4096))[0]).toBe(MMC.OK);
    clock.advance(999);
    expect(await client.call(RPC_OPCODE.EXIST_KEY, 'zombie')).toEqual([MMC.OBJECT_NOT_EXISTS]);
    clock.advance(1);
    expect(await client.call(RPC_OPCODE.EXIST_KEY, 'zombie')).toEqual([MMC.UNMATCHED_KEY]);
    expect(server.service.manager.usage(MEDIUM.DRAM).usedBytes).toBe(0);
    await server.close();
    expect(clock.pendingTimers).toBe(0); // close stops the tick
  });

  it('listens on IPv6 loopback', async () => {
    const server = await startMetaServiceServer({
      rpcUrl: 'tcp://[::1]:0',
      restUrl: 'http://[::1]:0',
      logger: quietLogger,
    });
    servers.push(server);
    const client = await MetaRpcClient.connect(`tcp://[::1]:${server.rpc.port}`);
    clients.push(client);
    expect(await client.call(RPC_OPCODE.PING)).toEqual([MMC.OK, 0]);
    expect(server.advertisedOrigin).toBe(`http://[::1]:${server.rest.port}`);
    expect((await fetch(`${server.advertisedOrigin}/role`)).status).toBe(200);
  });

  it('refuses a bad address before anything listens', async () => {
    await expect(
      startMetaServiceServer({
        rpcUrl: 'http://127.0.0.1:5000',
        restUrl: 'http://127.0.0.1:0',
        logger: quietLogger,
      }),
    ).rejects.toThrow('must be tcp://HOST:PORT');
    await expect(
      startMetaServiceServer({
        rpcUrl: 'tcp://127.0.0.1:0',
        restUrl: 'https://127.0.0.1',
        logger: quietLogger,
      }),
    ).rejects.toThrow('only http:// is supported');
  });
});
