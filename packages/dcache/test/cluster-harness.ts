import { waitFor } from '@kvforge/testing';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { createDcacheServer, DcacheNode, type DcacheNodeOptions } from '../src/index';
import { holdPort, type PortHold } from './port-hold';

export interface RunningNode {
  node: DcacheNode;
  app: FastifyInstance;
  address: string;
  url: string;
  stop(): Promise<void>;
}

/** Short failure-detection timings so tests see suspicion and removal within seconds. */
export const FAST_TIMINGS: Partial<DcacheNodeOptions> = {
  probeIntervalMs: 200,
  probeTimeoutMs: 300,
  deadAfterMs: 1000,
  bootstrapTimeoutMs: 2000,
  leaveTimeoutMs: 10_000,
  requestTimeoutMs: 1500,
};

/** Starts a node on `hold` (or a newly held port): the port stays held until the server binds it. */
export async function startNode(
  nodeId: string,
  seeds: string[],
  options: Partial<DcacheNodeOptions> = {},
  hold?: PortHold,
): Promise<RunningNode> {
  const port = hold ?? (await holdPort());
  const address = port.address;
  const node = new DcacheNode({ nodeId, address, seeds, ...FAST_TIMINGS, ...options });
  const app = await createDcacheServer({ node });
  await port.release();
  await app.listen({ host: '127.0.0.1', port: port.port });
  node.start();
  let stopped = false;
  return {
    node,
    app,
    address,
    url: `http://${address}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await node.stop();
      await app.close();
    },
  };
}

/** Nodes the first one founds and the others join; resolves once every node runs the same table. */
export async function startCluster(
  count: number,
  options: Partial<DcacheNodeOptions> = {},
): Promise<RunningNode[]> {
  const first = await startNode('node1', [], options);
  const nodes = [first];
  for (let index = 2; index <= count; index++)
    nodes.push(await startNode(`node${index}`, [first.address], options));
  await waitForConvergence(nodes, count);
  return nodes;
}

export async function waitForConvergence(nodes: RunningNode[], members: number): Promise<void> {
  await waitFor(
    () => {
      const versions = new Set(nodes.map((running) => running.node.table.version));
      return (
        versions.size === 1 &&
        nodes.every((running) => running.node.table.members.length === members && !running.node.isMigrating)
      );
    },
    { timeoutMs: 15_000, message: 'cluster did not converge' },
  );
}

export async function http(
  url: string,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests assert response bodies field by field
): Promise<{ status: number; body: any }> {
  const response = await request(`${url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: text.length > 0 ? JSON.parse(text) : undefined };
}

export const cachePath = (key: string) => `/api/v1/cache/${encodeURIComponent(key)}`;
