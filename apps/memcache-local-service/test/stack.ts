import { fileURLToPath } from 'node:url';
import { getFreePort, type ManagedProcess, startProcess } from '@kvforge/testing';

/** node arguments that run an app from its TypeScript sources. */
export const RUN_MAIN = ['--import', 'tsx', '--conditions=@kvforge/source', 'src/main.ts'];
export const LOCAL_APP = fileURLToPath(new URL('..', import.meta.url));
export const META_APP = fileURLToPath(new URL('../../memcache-meta-service', import.meta.url));

export interface MetaProcess {
  process: ManagedProcess;
  metaUrl: string;
  rest: string;
}

/** The meta service binary on free loopback ports. */
export async function startMeta(flags: readonly string[] = []): Promise<MetaProcess> {
  const rpcPort = await getFreePort();
  const httpPort = await getFreePort();
  const process = await startProcess({
    name: 'memcache-meta-service',
    command: 'node',
    args: [
      ...RUN_MAIN,
      `--ock.mmc.meta_service_url=tcp://127.0.0.1:${rpcPort}`,
      `--ock.mmc.meta_service.metrics_url=http://127.0.0.1:${httpPort}`,
      '--ock.mmc.log_level=warn',
      ...flags,
    ],
    cwd: META_APP,
    readyWhen: { port: httpPort },
  });
  return { process, metaUrl: `tcp://127.0.0.1:${rpcPort}`, rest: `http://127.0.0.1:${httpPort}` };
}

/** A local service binary for `rank`; ready once it logged that its segments are mounted. */
export async function startLocal(
  meta: MetaProcess,
  rank: number,
  flags: readonly string[] = [],
): Promise<ManagedProcess> {
  return startProcess({
    name: `memcache-local-service rank ${rank}`,
    command: 'node',
    args: [...RUN_MAIN, '--rank', String(rank), `--ock.mmc.meta_service_url=${meta.metaUrl}`, ...flags],
    cwd: LOCAL_APP,
    readyWhen: {
      check: async () => {
        const segments = await (await fetch(`${meta.rest}/get_all_segments`)).text();
        return segments.includes(`rank-${rank}-`);
      },
    },
    readyTimeoutMs: 30_000,
  });
}

export interface HaMetaProcess {
  process: ManagedProcess;
  rpcPort: number;
  httpPort: number;
}

/**
 * A meta service binary in an HA pair: election on `key` in the etcd at `etcdEndpoint`, on free ports
 * or on `ports` (a restart where the node ran before).
 */
export async function startHaMeta(
  etcdEndpoint: string,
  key: string,
  leaseSeconds: number,
  ports?: { rpcPort: number; httpPort: number },
): Promise<HaMetaProcess> {
  const rpcPort = ports?.rpcPort ?? (await getFreePort());
  const httpPort = ports?.httpPort ?? (await getFreePort());
  const process = await startProcess({
    name: `memcache-meta-service:${rpcPort}`,
    command: 'node',
    args: [
      ...RUN_MAIN,
      `--ock.mmc.meta_service_url=tcp://127.0.0.1:${rpcPort}`,
      `--ock.mmc.meta_service.metrics_url=http://127.0.0.1:${httpPort}`,
      '--ock.mmc.meta.ha.enable=true',
      `--ock.mmc.meta.ha.etcd_endpoints=${etcdEndpoint}`,
      `--ock.mmc.meta.ha.lease_seconds=${leaseSeconds}`,
      `--ock.mmc.meta.ha.election_key=${key}`,
      '--ock.mmc.log_level=warn',
    ],
    cwd: META_APP,
    readyWhen: { port: httpPort },
    readyTimeoutMs: 60_000,
  });
  return { process, rpcPort, httpPort };
}
