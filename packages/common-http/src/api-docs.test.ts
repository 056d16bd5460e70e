import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createHttpServer } from './create-http-server';
import { findUndocumentedRoutes, registeredRoutes } from './route-coverage';
import type { ZodTypeProvider } from './type-provider';

function buildApp(apiDocs?: false) {
  const app = createHttpServer(apiDocs === false ? { apiDocs } : { apiDocs: { title: 'shop' } });
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.post(
    '/items/:id',
    {
      schema: {
        params: z.object({ id: z.string() }),
        body: z.object({ name: z.string().refine((name) => name.length > 0) }),
        response: { 200: z.object({ ok: z.boolean(), id: z.string() }) },
      },
    },
    async (request) => ({ ok: true, id: request.params.id }),
  );
  // A hot route with a plain JSON schema (fast-json-stringify), as some products have.
  app.get(
    '/fast',
    {
      schema: { response: { 200: { type: 'object', properties: { n: { type: 'integer' } } } } },
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async () => ({ n: 1 }),
  );
  app.register(async (child) => {
    child.get('/nested', async () => 'x');
  });
  return app;
}

describe('API docs', () => {
  let app: ReturnType<typeof buildApp>;
  afterEach(async () => {
    await app.close();
  });

  it('documents every route added after createHttpServer, zod or JSON schema, and hides its own', async () => {
    app = buildApp();
    const response = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.title).toBe('shop');
    expect(Object.keys(document.paths).sort()).toEqual(['/fast', '/items/{id}', '/nested']);
    const post = document.paths['/items/{id}'].post;
    expect(post.requestBody.content['application/json'].schema.properties.name).toBeDefined();
    expect(post.responses['200'].content['application/json'].schema.properties.id.type).toBe('string');
    expect(
      document.paths['/fast'].get.responses['200'].content['application/json'].schema.properties.n.type,
    ).toBe('integer');
  });

  it('finds no undocumented route, and names a hidden one', async () => {
    app = buildApp();
    app.get('/secret', { schema: { hide: true } }, async () => 'x');
    expect(registeredRoutes(app).map((route) => `${route.method} ${route.url}`)).toContain('POST /items/:id');
    expect(await findUndocumentedRoutes(app)).toEqual(['GET /secret']);
  });

  it('serves the UI at /docs, keeps validation and 404s as they were', async () => {
    app = buildApp();
    const ui = await app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
    const invalid = await app.inject({ method: 'POST', url: '/items/a', payload: { name: '' } });
    expect(invalid.statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/items/a', payload: { name: 'n' } })).json()).toEqual({
      ok: true,
      id: 'a',
    });
    expect((await app.inject({ method: 'GET', url: '/nope' })).statusCode).toBe(404);
  });

  it('serves nothing under /docs when opted out', async () => {
    app = buildApp(false);
    expect((await app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(404);
    expect(app.hasRoute({ method: 'GET', url: '/fast' })).toBe(true);
  });
});
