import { getFreePort } from './ports';
import { type ManagedProcess, startProcess } from './process';
import { makeTempDirectory, removeDirectory } from './temp-directory';

export interface EtcdProcess {
  /** `http://127.0.0.1:port` */
  readonly endpoint: string;
  readonly endpoints: string[];
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts a single-member etcd (v3 API) on free loopback ports in a temp directory. */
export async function startEtcd(): Promise<EtcdProcess> {
  const directory = makeTempDirectory('etcd');
  const clientPort = await getFreePort();
  const peerPort = await getFreePort();
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const managed = await startProcess({
    name: `etcd:${clientPort}`,
    command: 'etcd',
    args: [
      '--name',
      'kvforge-test',
      '--data-dir',
      directory,
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `kvforge-test=${peerUrl}`,
      '--log-level',
      'warn',
    ],
    readyWhen: {
      check: async () => {
        try {
          const response = await fetch(`${clientUrl}/health`);
          return response.ok && ((await response.json()) as { health?: string }).health === 'true';
        } catch {
          return false;
        }
      },
    },
    readyTimeoutMs: 30_000,
  });
  return {
    endpoint: clientUrl,
    endpoints: [clientUrl],
    process: managed,
    async stop() {
      await managed.stop();
      removeDirectory(directory);
    },
  };
}
