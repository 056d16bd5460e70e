import { readFile, writeFile } from 'node:fs/promises';
import { CommandLineError, type CommandLineSpec, parseCommandLine } from '@kvforge/common-http';
import { MemCacheClient } from '../client/mem-cache-client';
import { MEDIUM_NAMES } from '../core/codes';
import { ProgressBar } from './progress-bar';

export interface CliOutput {
  write(chunk: string | Uint8Array): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
}

const SPEC: CommandLineSpec = {
  name: 'memcache-cli',
  usage: 'memcache-cli [--meta tcp://HOST:PORT[,tcp://HOST:PORT...]] <command> [arguments]',
  description: [
    'memcache-hybrid client: store and read objects in the pool.',
    '',
    'Commands:',
    '  put KEY FILE [--replicas N] [--medium hbm|dram]   store FILE under KEY',
    '  get KEY [OUTFILE]                                  write the value to OUTFILE (stdout when absent)',
    '  rm KEY                                             remove KEY',
    '  ls                                                 list every key',
    '  stat KEY                                           size, replicas, ranks and media as JSON',
    '',
    'Exit code 0 on success; 1 with a one-line reason when the operation fails; 2 on a usage error.',
  ].join('\n'),
  flags: {
    meta: {
      type: 'string',
      description: 'The meta service; an HA pair comma-separated (the leader is followed)',
      default: 'tcp://127.0.0.1:5000',
      valueName: 'URL',
    },
    replicas: { type: 'number', description: 'put: copies on distinct ranks', default: 1 },
    medium: {
      type: 'string',
      description: 'put: hbm or dram (default: the top tier)',
      valueName: 'hbm|dram',
    },
    shm: { type: 'boolean', description: 'Use same-host /dev/shm segments when offered', default: true },
  },
};

const ARITY: Readonly<Record<string, [number, number]>> = {
  put: [2, 2],
  get: [1, 2],
  rm: [1, 1],
  ls: [0, 0],
  stat: [1, 1],
};

/** A progress bar is shown on a terminal for transfers at least this big. */
const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

/** Runs one CLI invocation; resolves with the process exit code. Errors print one line on stderr. */
export async function runMemcacheCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv, SPEC);
    if (parsed.helpRequested) {
      io.stdout.write(parsed.help);
      return 0;
    }
    const [command, ...rest] = parsed.positionals;
    const arity = command === undefined ? undefined : ARITY[command];
    if (!command || !arity)
      throw new CommandLineError(
        command ? `unknown command "${command}" (see --help)` : 'no command (see --help)',
      );
    if (rest.length < arity[0] || rest.length > arity[1]) {
      throw new CommandLineError(`${command}: wrong number of arguments (see --help)`);
    }
    const medium = parsed.values.medium;
    if (medium !== undefined && medium !== 'hbm' && medium !== 'dram') {
      throw new CommandLineError(`--medium must be hbm or dram, not "${String(medium)}"`);
    }
    const replicas = parsed.values.replicas;
    if (
      replicas !== undefined &&
      (!Number.isInteger(replicas) || (replicas as number) < 1 || (replicas as number) > 8)
    ) {
      throw new CommandLineError('--replicas must be an integer from 1 to 8');
    }
  } catch (error) {
    io.stderr.write(`memcache-cli: ${(error as Error).message}\n`);
    return 2;
  }
  const [command, ...args] = parsed.positionals as [string, ...string[]];
  let client: MemCacheClient | undefined;
  try {
    client = await MemCacheClient.connect({
      metaUrl: String(parsed.values.meta ?? 'tcp://127.0.0.1:5000'),
      sharedMemory: parsed.values.shm !== false,
    });
    await execute(client, command, args, parsed.values, io);
    return 0;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    io.stderr.write(`memcache-cli: ${command}: ${message}\n`);
    return 1;
  } finally {
    await client?.close();
  }
}

async function execute(
  client: MemCacheClient,
  command: string,
  args: string[],
  flags: Record<string, unknown>,
  io: CliIo,
): Promise<void> {
  const key = args[0] as string;
  switch (command) {
    case 'put': {
      const value = await readFile(args[1] as string);
      const replicas = (flags.replicas as number | undefined) ?? 1;
      const bar = progressBar(io, value.length * replicas, `put ${key}`);
      await client.put(key, value, {
        replicas,
        ...(flags.medium ? { medium: flags.medium as 'hbm' | 'dram' } : {}),
        ...(bar ? { onProgress: (done: number) => bar.update(done) } : {}),
      });
      bar?.finish();
      io.stderr.write(
        `stored ${key}: ${value.length} bytes, ${replicas} replica${replicas > 1 ? 's' : ''}\n`,
      );
      return;
    }
    case 'get': {
      const info = await client.query(key);
      const bar = info ? progressBar(io, info.size, `get ${key}`) : undefined;
      const value = await client.get(key, bar ? { onProgress: (done) => bar.update(done) } : {});
      bar?.finish();
      if (args[1]) await writeFile(args[1], value);
      else io.stdout.write(value);
      return;
    }
    case 'rm':
      if (!(await client.remove(key))) throw new Error(`no such key ${key}`);
      io.stderr.write(`removed ${key}\n`);
      return;
    case 'ls':
      for (const name of await client.keys()) io.stdout.write(`${name}\n`);
      return;
    case 'stat': {
      const info = await client.query(key);
      if (!info) throw new Error(`no such key ${key}`);
      const blobs = info.blobs.map((blob) => ({ rank: blob.rank, medium: MEDIUM_NAMES[blob.medium] }));
      io.stdout.write(`${JSON.stringify({ ...info, blobs })}\n`);
      return;
    }
  }
}

function progressBar(io: CliIo, total: number, label: string): ProgressBar | undefined {
  return io.stderr.isTTY && total >= PROGRESS_MIN_BYTES
    ? new ProgressBar(io.stderr, total, label)
    : undefined;
}
