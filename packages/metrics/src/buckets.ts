import { exponentialBuckets } from 'prom-client';

/** RESP / RPC round trips: 50 µs … ~1.6 s, doubling. */
export const LATENCY_SECONDS_FAST_BUCKETS: readonly number[] = exponentialBuckets(0.00005, 2, 16);

/** HTTP handlers: 1 ms … 10 s. */
export const LATENCY_SECONDS_HTTP_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Payload sizes: 64 B … 64 MiB, ×4. */
export const SIZE_BYTES_BUCKETS: readonly number[] = exponentialBuckets(64, 4, 11);
