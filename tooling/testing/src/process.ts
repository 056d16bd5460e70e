import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { waitFor } from './wait-for';

export type ReadyCondition =
  | { port: number; host?: string }
  | { logLine: RegExp }
  | { check: () => Promise<boolean> };

export interface StartProcessOptions {
  command: string;
  args?: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  readyWhen: ReadyCondition;
  /** @default 20000 */
  readyTimeoutMs?: number;
  /** Name used in errors. @default command */
  name?: string;
}

export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the process printed (capped at the last 256 KiB). */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves when the process is gone. */
  stop(timeoutMs?: number): Promise<void>;
  /** Sends a signal (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const OUTPUT_CAP = 256 * 1024;
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
let hasSetpriv: boolean | undefined;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

// setpriv --pdeathsig makes the kernel kill the server if the test process dies abruptly
// (vitest killing a worker), so no redis-server outlives its test run.
function withParentDeathSignal(command: string, args: readonly string[]): [string, string[]] {
  hasSetpriv ??= spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
  return hasSetpriv ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...args]] : [command, [...args]];
}

function portAccepts(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts a child process, waits until it is ready, and guarantees it is killed when the tests end. */
export async function startProcess(options: StartProcessOptions): Promise<ManagedProcess> {
  installExitHook();
  const name = options.name ?? options.command;
  const [command, args] = withParentDeathSignal(options.command, options.args ?? []);
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  let output = '';
  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_CAP) output = output.slice(output.length - OUTPUT_CAP);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      liveChildren.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (error) => {
      running = false;
      liveChildren.delete(child);
      append(Buffer.from(`spawn error: ${error.message}\n`));
      resolve('spawn-error');
    });
  });

  const managed: ManagedProcess = {
    child,
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    isRunning: () => running,
    async stop(timeoutMs = 5000) {
      if (!running) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
    async kill(signal = 'SIGKILL') {
      if (!running) return;
      child.kill(signal);
      await exited;
    },
  };

  const ready = options.readyWhen;
  try {
    await waitFor(
      async () => {
        if (!running) return true; // stop polling; reported below
        if ('port' in ready) return portAccepts(ready.port, ready.host ?? '127.0.0.1');
        if ('logLine' in ready) return ready.logLine.test(output);
        return ready.check();
      },
      { timeoutMs: options.readyTimeoutMs ?? 20_000, message: `${name} to become ready` },
    );
    if (!running) throw new Error(`${name} exited before it was ready (${String(await exited)})`);
  } catch (error) {
    await managed.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n--- ${name} output ---\n${output.slice(-4000)}`);
  }
  return managed;
}
