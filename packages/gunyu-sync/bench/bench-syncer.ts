// The Syncer every gunyu-sync bench case runs (same options in-process and in the RSS child).
import { parseHostPort } from '@kvforge/runtime';
import { DEFAULT_FILTER_OPTIONS } from '../src/core/command-filter';
import { DEFAULT_REPLAY_OPTIONS } from '../src/core/replay-options';
import type { SpillingSpoolOptions } from '../src/core/spilling-spool';
import { Syncer } from '../src/syncer';

export interface BenchEndpoint {
  host: string;
  port: number;
}

export function benchSyncer(
  source: BenchEndpoint,
  target: BenchEndpoint,
  syncDelayTestKey = '',
  spool?: Partial<SpillingSpoolOptions>,
): Syncer {
  return new Syncer({
    inputAddress: `${source.host}:${source.port}`,
    input: { host: source.host, port: source.port },
    output: { host: target.host, port: target.port },
    listeningPort: 18001,
    replay: { ...DEFAULT_REPLAY_OPTIONS, replayRdbParallel: 8 },
    filter: DEFAULT_FILTER_OPTIONS,
    syncDelayTestKey,
    reconnectBackoffMs: 500,
    capaEof: true,
    transaction: true,
    spool,
  });
}

/** `host:port` → endpoint (argv of the RSS child). */
export function parseEndpoint(address: string): BenchEndpoint {
  return parseHostPort(address);
}
