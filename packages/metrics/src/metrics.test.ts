import Fastify from 'fastify';
import { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, LATENCY_SECONDS_FAST_BUCKETS, metricsRoute } from './index';

describe('createMetricsRegistry', () => {
  it('gives each service its own registry with a service label', async () => {
    const first = createMetricsRegistry({ service: 'one' });
    const second = createMetricsRegistry({ service: 'two' });
    new Counter({ name: 'requests_total', help: 'requests', registers: [first] }).inc(3);
    new Counter({ name: 'requests_total', help: 'requests', registers: [second] }).inc(5);
    expect(await first.metrics()).toContain('requests_total{service="one"} 3');
    expect(await second.metrics()).toContain('requests_total{service="two"} 5');
  });

  it('has increasing fast latency buckets starting at 50 microseconds', () => {
    expect(LATENCY_SECONDS_FAST_BUCKETS[0]).toBe(0.00005);
    for (let index = 1; index < LATENCY_SECONDS_FAST_BUCKETS.length; index++) {
      expect(LATENCY_SECONDS_FAST_BUCKETS[index]!).toBeGreaterThan(LATENCY_SECONDS_FAST_BUCKETS[index - 1]!);
    }
  });
});

describe('metricsRoute', () => {
  it('serves the registry with its content type', async () => {
    const registry = createMetricsRegistry();
    new Counter({ name: 'hits_total', help: 'hits', registers: [registry] }).inc();
    const app = Fastify();
    await app.register(metricsRoute(registry));
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(registry.contentType);
    expect(response.body).toContain('hits_total 1');
    await app.close();
  });

  it('serves a custom exposition at a custom path', async () => {
    const app = Fastify();
    await app.register(
      metricsRoute(createMetricsRegistry(), {
        path: '/prometheus',
        render: () => 'custom_metric 7\n',
        contentType: 'text/plain; version=0.0.4',
      }),
    );
    const response = await app.inject({ method: 'GET', url: '/prometheus' });
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4');
    expect(response.body).toBe('custom_metric 7\n');
    await app.close();
  });
});
