import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  compareRedisDatasets,
  makeTempDirectory,
  type RedisProcess,
  removeDirectory,
  startRedis,
  waitFor,
} from '@kvforge/testing';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpillingSpoolOptions } from '../src/core/spilling-spool';
import { registerGunyuMetrics } from '../src/metrics/gunyu-metrics';
import type { SyncService } from '../src/sync-service';
import type { Syncer } from '../src/syncer';
import { isCheckpointKey, syncerFor } from './sync-helpers';

// The source drops a replica whose output buffer stays above 256 kB for 2 s: only a syncer that keeps
// reading while the target is frozen survives the write burst below (no hard limit, so a moment of
// CPU starvation on a busy test machine is not mistaken for not reading).
// A strict source: it drops a replica whose output buffer stays above 256 kB for 5 s. The syncer's read-ahead
// pause gives up after 1 s; the margin absorbs a starved event loop on a loaded CI box (with 2 s it was once
// dropped while the whole suite ran, and the retry then waited on the frozen target until the test timed out).
const STRICT_REPLICA_BUFFER = ['--client-output-buffer-limit', 'replica 0 256kb 5'];
const BURST_KEYS = 20_000;
const VALUE = 'v'.repeat(400);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function pair(sourceArgs: string[]): Promise<{ source: RedisProcess; target: RedisProcess }> {
  const [source, target] = await Promise.all([startRedis({ args: sourceArgs }), startRedis()]);
  cleanups.push(
    () => source.stop(),
    () => target.stop(),
  );
  return { source, target };
}

async function sourceOffset(client: Redis): Promise<number> {
  return Number(/master_repl_offset:(\d+)/.exec(await client.info('replication'))?.[1]);
}

/**
 * ~8 MB of SETs while the target refuses writes; the target stays frozen until `frozenUntil` holds
 * for the source offset after the burst (a state of the syncer, not a duration), then it is let go.
 */
async function burstWhileTargetFrozen(
  sourceClient: Redis,
  targetClient: Redis,
  frozenUntil: (burstEndOffset: number) => boolean,
): Promise<void> {
  await targetClient.call('CLIENT', 'PAUSE', '120000', 'WRITE');
  try {
    for (let i = 0; i < BURST_KEYS; i += 500) {
      const pipeline = sourceClient.pipeline();
      for (let j = i; j < i + 500; j++) pipeline.set(`burst:${j}`, VALUE);
      await pipeline.exec();
    }
    const burstEndOffset = await sourceOffset(sourceClient);
    await waitFor(() => frozenUntil(burstEndOffset), {
      timeoutMs: 60_000,
      message: 'the syncer state awaited while the target is frozen',
    });
  } finally {
    await targetClient.call('CLIENT', 'UNPAUSE');
  }
}

async function converged(sourceClient: Redis, targetClient: Redis, syncer: Syncer): Promise<void> {
  const offset = await sourceOffset(sourceClient);
  await waitFor(async () => syncer.counters.ackOffset >= offset, {
    timeoutMs: 60_000,
    message: 'syncer did not catch up',
  });
  const result = await compareRedisDatasets(sourceClient, targetClient, { ignoreKey: isCheckpointKey });
  expect(result.differences).toEqual([]);
  expect(result.keyCount).toBe(BURST_KEYS + 1);
}

/** Streams the burst through a syncer with this spool; returns it and the spool's high-water marks. */
async function syncThroughBurst(
  source: RedisProcess,
  target: RedisProcess,
  spool: Partial<SpillingSpoolOptions>,
  frozenUntil: (syncer: Syncer, burstEndOffset: number) => boolean,
): Promise<{ syncer: Syncer; largestDisk: number; largestMemory: number }> {
  // Closed by the servers' stop() in the cleanups.
  const sourceClient = source.client();
  const targetClient = target.client();
  await sourceClient.set('before', '1');
  const syncer = syncerFor(source, target, { spool });
  cleanups.push(() => syncer.stop());
  syncer.start();
  await waitFor(async () => syncer.counters.syncPhase === 2, { timeoutMs: 30_000, message: 'no stream' });
  let largestDisk = 0;
  let largestMemory = 0;
  const sample = setInterval(() => {
    largestDisk = Math.max(largestDisk, syncer.spool?.diskBytes ?? 0);
    largestMemory = Math.max(largestMemory, syncer.spool?.memoryBytes ?? 0);
  }, 5);
  try {
    await burstWhileTargetFrozen(sourceClient, targetClient, (burstEndOffset) => {
      // Sampled here too: the 5 ms sampler may miss the peak just before the target is let go.
      largestDisk = Math.max(largestDisk, syncer.spool?.diskBytes ?? 0);
      largestMemory = Math.max(largestMemory, syncer.spool?.memoryBytes ?? 0);
      return frozenUntil(syncer, burstEndOffset);
    });
    await converged(sourceClient, targetClient, syncer);
  } finally {
    clearInterval(sample);
  }
  return { syncer, largestDisk, largestMemory };
}

describe('spool between source and target', () => {
  it('spills to disk while the target is frozen, so the source never drops the syncer, then drains and cleans up', async () => {
    const { source, target } = await pair(STRICT_REPLICA_BUFFER);
    const spoolDirectory = makeTempDirectory('gunyu-spool-');
    cleanups.push(() => removeDirectory(spoolDirectory));
    const { syncer, largestDisk } = await syncThroughBurst(
      source,
      target,
      {
        directory: spoolDirectory,
        memoryBytes: 256 * 1024,
        segmentBytes: 1024 * 1024,
      },
      // Frozen until the whole burst was read from the source: it all sits in the spool, mostly on disk.
      (syncer, burstEndOffset) => syncer.counters.inputOffset >= burstEndOffset,
    );
    expect(largestDisk).toBeGreaterThan(1024 * 1024);
    // The frozen target stalled the read-ahead pause past its limit: reading went on and spilled.
    expect(syncer.counters.readAheadSpills).toBeGreaterThan(0);
    const registry = new Registry();
    registerGunyuMetrics(registry, { syncers: [syncer] } as unknown as SyncService);
    const spills = await registry.getSingleMetric('redisGunYu_input_read_ahead_spill')?.get();
    expect(spills?.values).toEqual([
      { labels: { input: source.address }, value: syncer.counters.readAheadSpills },
    ]);
    // One session from start to end: the source never cut the replica link.
    expect(syncer.counters.fullSyncs).toBe(1);
    expect(syncer.counters.incrementalSyncs).toBe(0);
    expect(syncer.lastError).toBeUndefined();
    expect(syncer.spool?.diskBytes).toBe(0);
    const inputDirectory = join(spoolDirectory, source.address.replace(/[^\w.-]/g, '_'));
    const leftovers = existsSync(inputDirectory) ? readdirSync(inputDirectory, { recursive: true }) : [];
    expect(leftovers.filter((name) => String(name).includes('.'))).toEqual([]);
  }, 120_000);

  it('memory-only spool (channel.type memory): when full it stops reading the source instead of dropping data', async () => {
    const { source, target } = await pair([]); // default replica buffer limit
    const memoryBytes = 256 * 1024;
    const { syncer, largestMemory } = await syncThroughBurst(
      source,
      target,
      {
        memoryBytes,
        maxDiskBytes: 0,
      },
      // Frozen until the full spool made the syncer stop reading the source.
      (syncer) => syncer.counters.spoolFullPauses > 0,
    );
    expect(syncer.counters.spoolFullPauses).toBeGreaterThan(0);
    expect(largestMemory).toBeLessThanOrEqual(memoryBytes + 64 * 1024);
    expect(syncer.spool?.diskBytes).toBe(0);
    expect(syncer.counters.fullSyncs).toBe(1);
    expect(syncer.counters.incrementalSyncs).toBe(0);
    expect(syncer.lastError).toBeUndefined();
  }, 120_000);
});
