import { fileURLToPath } from 'node:url';
import { getFreePort, type ManagedProcess, startProcess } from '@kvforge/testing';

const MAIN = fileURLToPath(new URL('../../../apps/kvstore-proxy/src/main.ts', import.meta.url));

export interface ProxyProcess {
  readonly port: number;
  readonly httpPort: number;
  process: ManagedProcess;
  /** POSTs JSON to one of its /kvstore/proxy routes. */
  api(path: string, body?: unknown): Promise<Record<string, unknown>>;
  /** GET /metrics text. */
  metrics(): Promise<string>;
}

/** The kvstore-proxy app (src/main.ts through tsx) in its own process: `--threads N` forks workers. */
export async function startProxyProcess(options: {
  namespace: string;
  configServer: string;
  threads: number;
  extraArgs?: string[];
}): Promise<ProxyProcess> {
  const [port, httpPort] = [await getFreePort(), await getFreePort()];
  const managed = await startProcess({
    name: `kvstore-proxy:${port}`,
    command: process.execPath,
    args: [
      '--conditions=@kvforge/source',
      '--import',
      'tsx',
      MAIN,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--http-port',
      String(httpPort),
      '--namespace',
      options.namespace,
      '--config-server',
      options.configServer,
      '--threads',
      String(options.threads),
      ...(options.extraArgs ?? []),
    ],
    // Ready once HTTP answers and the table is installed (in every worker): whatever the log level.
    readyWhen: {
      check: async () => {
        try {
          const response = await fetch(`http://127.0.0.1:${httpPort}/health`, {
            signal: AbortSignal.timeout(2000),
          });
          return response.ok;
        } catch {
          return false;
        }
      },
    },
    readyTimeoutMs: 120_000, // tsx starts of the primary and each worker on a loaded 2-core box
  });
  return {
    port,
    httpPort,
    process: managed,
    async api(path, body = {}) {
      const response = await fetch(`http://127.0.0.1:${httpPort}/kvstore/proxy/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      return (await response.json()) as Record<string, unknown>;
    },
    async metrics() {
      const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`, {
        signal: AbortSignal.timeout(10_000),
      });
      return response.text();
    },
  };
}
