// A gunyu-sync pipeline started from code: it replicates one standalone Redis into another (full sync
// first, then the live command stream) until it is stopped.
import { pathToFileURL } from 'node:url';
import { gunyuConfigSchema, SyncService } from '@kvforge/gunyu-sync';
import { Redis } from 'ioredis';

export interface GunyuSyncPipelineOptions {
  /** host:port of the Redis to copy from. */
  source: string;
  /** host:port of the Redis to copy into. */
  target: string;
  /** Longest wait for a write to show up on the target. @default 30000 */
  timeoutMs?: number;
}

export interface GunyuSyncPipelineResult {
  /** Written before the pipeline started: arrives with the full sync. */
  beforeStart: { written: string; onTarget: string | null };
  /** Written while it runs: arrives through the command stream. */
  whileRunning: { written: string; onTarget: string | null };
  /** The syncer's state as the ops API reports it, just before stopping. */
  state: string | undefined;
}

export async function run(options: GunyuSyncPipelineOptions): Promise<GunyuSyncPipelineResult> {
  const [sourceHost, sourcePort] = options.source.split(':');
  const [targetHost, targetPort] = options.target.split(':');
  const source = new Redis({ host: sourceHost, port: Number(sourcePort) });
  const target = new Redis({ host: targetHost, port: Number(targetPort) });
  // The same fields as GunYu's YAML; defaults fill the rest. `memory`: never spill to disk.
  const config = gunyuConfigSchema.parse({
    input: { redis: { addresses: [options.source] } },
    output: { redis: { addresses: [options.target] } },
    channel: { type: 'memory' },
  });
  const service = new SyncService(config);
  const arrived = (key: string, value: string) =>
    waitUntil(async () => (await target.get(key)) === value, options.timeoutMs ?? 30_000, key);

  try {
    const stamp = `${process.pid}-${Date.now()}`;
    await source.set('example:gunyu:before', `before-${stamp}`);
    service.start();
    await arrived('example:gunyu:before', `before-${stamp}`);

    await source.set('example:gunyu:while', `while-${stamp}`);
    await arrived('example:gunyu:while', `while-${stamp}`);
    return {
      beforeStart: { written: `before-${stamp}`, onTarget: await target.get('example:gunyu:before') },
      whileRunning: { written: `while-${stamp}`, onTarget: await target.get('example:gunyu:while') },
      state: service.status()[0]?.State,
    };
  } finally {
    await service.stop(); // closes the replication link; the checkpoint stays in the target
    source.disconnect();
    target.disconnect();
  }
}

/** Polls a condition (replication is asynchronous) and gives up after a deadline. */
async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not reach the target within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // tsx src/gunyu-sync-pipeline.ts SOURCE TARGET   (or GUNYU_SOURCE / GUNYU_TARGET, host:port each)
  const source = process.argv[2] ?? process.env.GUNYU_SOURCE ?? '127.0.0.1:6379';
  const target = process.argv[3] ?? process.env.GUNYU_TARGET ?? '127.0.0.1:6380';
  console.log(await run({ source, target }));
}
