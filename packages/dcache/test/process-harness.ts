import { fileURLToPath } from 'node:url';
import { getFreePort, type ManagedProcess, startProcess, waitFor } from '@kvforge/testing';
import { http } from './cluster-harness';

const appDirectory = fileURLToPath(new URL('../../../apps/dcache/', import.meta.url));

export interface NodeProcess {
  nodeId: string;
  address: string;
  url: string;
  process: ManagedProcess;
}

/** One real app process (node with the tsx loader, so SIGKILL/SIGSTOP reach the server itself). */
export async function spawnNode(
  nodeId: string,
  port: number,
  seeds: string[],
  extraArgs: readonly string[] = [],
): Promise<NodeProcess> {
  const address = `127.0.0.1:${port}`;
  const args = [
    '--import',
    'tsx',
    '--conditions=@kvforge/source',
    'src/main.ts',
    '--node-id',
    nodeId,
    '--listen',
    address,
  ];
  if (seeds.length > 0) args.push('--seeds', seeds.join(','));
  args.push('--probe-interval-ms', '200', '--probe-timeout-ms', '300', '--dead-after-ms', '1000');
  args.push('--log-level', 'warn', '--leave-timeout-ms', '10000', ...extraArgs);
  const child = await startProcess({
    command: process.execPath,
    args,
    cwd: appDirectory,
    name: nodeId,
    readyWhen: { port, host: '127.0.0.1' },
    readyTimeoutMs: 30_000,
  });
  return { nodeId, address, url: `http://${address}`, process: child };
}

export async function members(url: string): Promise<string[]> {
  const response = await http(url, 'GET', '/admin/nodes');
  return Object.keys(response.body.nodes).sort();
}

/** `count` processes started at once, each seeding all the others; resolves once they form one cluster. */
export async function spawnCluster(count: number, extraArgs: readonly string[] = []): Promise<NodeProcess[]> {
  const started = await spawnTogether(count, extraArgs);
  await waitForOneCluster(started, count);
  return started;
}

/** `count` processes started at once (the README quick start: each seeds all the others). */
export async function spawnTogether(
  count: number,
  extraArgs: readonly string[] = [],
): Promise<NodeProcess[]> {
  const ports: number[] = [];
  for (let index = 0; index < count; index++) ports.push(await getFreePort());
  const seeds = ports.map((port) => `127.0.0.1:${port}`);
  const started = await Promise.allSettled(
    ports.map((port, index) =>
      spawnNode(
        `node${index + 1}`,
        port,
        seeds.filter((_, other) => other !== index),
        extraArgs,
      ),
    ),
  );
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  if (nodes.length < count) {
    await Promise.all(nodes.map((node) => node.process.stop()));
    throw (started.find((result) => result.status === 'rejected') as PromiseRejectedResult).reason;
  }
  return nodes;
}

/**
 * Every process runs one table — the same version, coordinator and member list — with `count`
 * members and no migration pending. Resolves with the identities seen last (for a failure message).
 */
export async function waitForOneTable(
  nodes: readonly NodeProcess[],
  count: number,
  timeoutMs: number,
): Promise<{ formed: boolean; identities: string[] }> {
  let identities: string[] = [];
  const formed = await waitFor(
    async () => {
      const states = await Promise.all(
        nodes.map((node) => http(node.url, 'GET', '/internal/cluster/health').catch(() => undefined)),
      );
      identities = states.map(
        (state) =>
          `v${state?.body?.ring_version}/${state?.body?.ring_coordinator}/${state?.body?.ring_members}`,
      );
      return (
        new Set(identities).size === 1 &&
        states.every((state) => state?.body?.migrating === false) &&
        (await members(nodes[0]!.url)).length === count
      );
    },
    { timeoutMs },
  ).then(
    () => true,
    () => false,
  );
  return { formed, identities };
}

/** Every process runs the same table version with `count` members and no migration pending. */
export async function waitForOneCluster(nodes: readonly NodeProcess[], count: number, timeoutMs = 60_000) {
  await waitFor(
    async () => {
      const states = await Promise.all(
        nodes.map((node) => http(node.url, 'GET', '/internal/cluster/health').catch(() => undefined)),
      );
      const versions = new Set(states.map((state) => state?.body?.ring_version));
      if (versions.size !== 1 || states.some((state) => state?.body?.migrating !== false)) return false;
      const lists = await Promise.all(nodes.map((node) => members(node.url)));
      return lists.every((list) => list.length === count);
    },
    // Generous: with 1 s failure detection, a starved 2-core CI box can take a few rounds to settle.
    { timeoutMs, message: `the processes did not form one cluster of ${count}` },
  );
}
