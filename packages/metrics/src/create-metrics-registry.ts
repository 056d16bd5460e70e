import { collectDefaultMetrics, Registry } from 'prom-client';

export interface MetricsRegistryOptions {
  /** Added as the `service` default label when set. */
  service?: string;
  /**
   * Collect process metrics (CPU, memory, event-loop lag) into this registry.
   * @default false
   */
  collectDefaultMetrics?: boolean;
  /** Prefix for the default process metrics. @default '' */
  defaultMetricsPrefix?: string;
}

export const DEFAULT_METRICS_REGISTRY_OPTIONS: Required<Omit<MetricsRegistryOptions, 'service'>> = {
  collectDefaultMetrics: false,
  defaultMetricsPrefix: '',
};

// Default metrics start an event-loop monitor each time they are collected into a registry;
// one registry per process gets them, so tests building many apps do not leak monitors.
let defaultMetricsRegistry: Registry | undefined;

/** A fresh registry for one service: never the prom-client global one. */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const resolved = { ...DEFAULT_METRICS_REGISTRY_OPTIONS, ...options };
  const registry = new Registry();
  if (resolved.service !== undefined) registry.setDefaultLabels({ service: resolved.service });
  if (resolved.collectDefaultMetrics && defaultMetricsRegistry === undefined) {
    defaultMetricsRegistry = registry;
    collectDefaultMetrics({ register: registry, prefix: resolved.defaultMetricsPrefix });
  }
  return registry;
}
