import { fileURLToPath } from 'node:url';
import { getFreePort, type ManagedProcess, startProcess } from '@kvforge/testing';

const SCRIPT = fileURLToPath(new URL('./config-server-process.ts', import.meta.url));

export interface ConfigServerProcess {
  readonly address: string;
  readonly port: number;
  process: ManagedProcess;
  /** POSTs JSON to one of its routes. */
  cs(path: string, body?: unknown): Promise<Record<string, unknown>>;
  kill(): Promise<void>;
  /** Starts it again on the same port with the same settings (or these ones). */
  restart(settings?: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

/** A ConfigServer in its own node process (tsx), so it can be killed -9. */
export async function startConfigServerProcess(
  settings: Record<string, unknown>,
  port?: number,
): Promise<ConfigServerProcess> {
  const chosen = port ?? (await getFreePort());
  const launch = (current = settings) =>
    startProcess({
      name: `config-server:${chosen}`,
      command: process.execPath,
      args: [
        '--conditions=@kvforge/source',
        '--import',
        'tsx',
        SCRIPT,
        JSON.stringify({ ...current, port: chosen }),
      ],
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      readyWhen: { logLine: /config server ready/ },
      readyTimeoutMs: 120_000, // a tsx start on a loaded 2-core box
    });
  const handle: ConfigServerProcess = {
    address: `127.0.0.1:${chosen}`,
    port: chosen,
    process: await launch(),
    async cs(path, body = {}) {
      const response = await fetch(`http://127.0.0.1:${chosen}/kvstore/cs/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      return (await response.json()) as Record<string, unknown>;
    },
    async kill() {
      await handle.process.kill('SIGKILL');
    },
    async restart(next) {
      handle.process = await launch(next);
    },
    async stop() {
      if (handle.process.isRunning()) await handle.process.stop();
    },
  };
  return handle;
}

/**
 * Runs `step`; if it throws, prints every given ConfigServer's output (its log lines) first, so a
 * failure on a loaded CI box says what each process saw.
 */
export async function withConfigServerLogs<T>(
  servers: readonly ConfigServerProcess[],
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    for (const server of servers) {
      console.error(
        `--- config server ${server.address} output ---\n${server.process.output().slice(-20_000)}`,
      );
    }
    throw error;
  }
}
