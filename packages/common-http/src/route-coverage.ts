import { formatParamUrl } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

export interface RegisteredRoute {
  method: string;
  url: string;
}

const registered = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Records every route (HEAD excepted: fastify adds one per GET) so coverage can be checked later. */
export function trackRoutes(app: FastifyInstance): void {
  const routes: RegisteredRoute[] = [];
  registered.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
}

/** The routes registered on a server made by createHttpServer (with docs on), in registration order. */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  return [...(registered.get(app) ?? [])];
}

/**
 * `METHOD url` of every registered route that the served OpenAPI document lacks (the docs'
 * own routes under `docsPrefix` excepted). Empty means every route is documented.
 */
export async function findUndocumentedRoutes(app: FastifyInstance, docsPrefix = '/docs'): Promise<string[]> {
  await app.ready();
  const response = await app.inject({ method: 'GET', url: `${docsPrefix}/json` });
  if (response.statusCode !== 200) throw new Error(`${docsPrefix}/json answered ${response.statusCode}`);
  const paths = (response.json() as { paths?: Record<string, Record<string, unknown>> }).paths ?? {};
  return registeredRoutes(app)
    .filter((route) => route.url !== docsPrefix && !route.url.startsWith(`${docsPrefix}/`))
    .filter((route) => paths[formatParamUrl(route.url)]?.[route.method.toLowerCase()] === undefined)
    .map((route) => `${route.method} ${route.url}`);
}
