export { LATENCY_SECONDS_FAST_BUCKETS, LATENCY_SECONDS_HTTP_BUCKETS, SIZE_BYTES_BUCKETS } from './buckets';
export {
  createMetricsRegistry,
  DEFAULT_METRICS_REGISTRY_OPTIONS,
  type MetricsRegistryOptions,
} from './create-metrics-registry';
export { type MetricsRouteOptions, metricsRoute } from './metrics-route';
