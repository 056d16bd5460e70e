import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

export interface MetricsRouteOptions {
  /** @default '/metrics' */
  path?: string;
  /**
   * Renders the exposition text instead of `registry.metrics()`, for products whose spec fixes the
   * text byte for byte.
   */
  render?: () => Promise<string> | string;
  /** Content type of a custom `render`. @default the registry's content type */
  contentType?: string;
}

/** A fastify plugin that serves one registry (or a custom exposition) at `path`. */
export function metricsRoute(registry: Registry, options: MetricsRouteOptions = {}): FastifyPluginAsync {
  const path = options.path ?? '/metrics';
  const contentType = options.contentType ?? registry.contentType;
  const render = options.render ?? (() => registry.metrics());
  return async function metricsRoutePlugin(app) {
    app.get(path, async (_request, reply) => {
      const text = await render();
      return reply.header('content-type', contentType).send(text);
    });
  };
}
