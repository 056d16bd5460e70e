import { DomainError } from '@kvforge/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from './app-error';
import { createHttpServer } from './create-http-server';
import type { ErrorEnvelope } from './error-envelope';
import type { ZodTypeProvider } from './type-provider';

const codeEnvelope: ErrorEnvelope = {
  render: (error) => ({
    statusCode: error.code === 'SHOP_ERR_MISSING' ? 404 : error.statusCode,
    body: { failed: true, code: error.code, message: error.message },
  }),
};

function buildApp() {
  const app = createHttpServer({ errorEnvelope: codeEnvelope }).withTypeProvider<ZodTypeProvider>();
  app.post('/echo', async (request) => ({ body: request.body ?? null }));
  app.post(
    '/typed',
    { schema: { body: z.object({ name: z.string(), count: z.number().int() }) } },
    async (request) => ({
      greeting: `${request.body.name}:${request.body.count}`,
    }),
  );
  app.get('/app-error', async () => {
    throw new AppError({ code: 'SHOP_ERR_LIMIT', statusCode: 429, message: 'slow down' });
  });
  app.get('/domain-error', async () => {
    throw new DomainError('SHOP_ERR_MISSING', 'no such item');
  });
  app.get('/crash', async () => {
    throw new TypeError('secret internals');
  });
  return app;
}

describe('createHttpServer', () => {
  let app: ReturnType<typeof buildApp>;
  afterEach(async () => {
    await app.close();
  });

  it('accepts a JSON body sent the way curl --data sends it (form content type)', async () => {
    app = buildApp();
    const response = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '{"namespace":"demo"}',
    });
    expect(response.json()).toEqual({ body: { namespace: 'demo' } });
  });

  it('keeps a non-JSON body as a string and an empty body as undefined', async () => {
    app = buildApp();
    const text = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.json()).toEqual({ body: 'hello' });
    const empty = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
    });
    expect(empty.json()).toEqual({ body: null });
  });

  it('rejects malformed JSON declared as JSON through the envelope', async () => {
    app = buildApp();
    const response = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"broken":',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ failed: true, code: 'COMMON_ERR_BAD_JSON' });
  });

  it('names the bad field of a schema validation error', async () => {
    app = buildApp();
    const response = await app.inject({ method: 'POST', url: '/typed', payload: { name: 'a', count: 'x' } });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.code).toBe('COMMON_ERR_VALIDATION');
    expect(body.message).toContain('count');
  });

  it('renders AppError, domain errors, crashes and unknown routes through the one envelope', async () => {
    app = buildApp();
    const limited = await app.inject({ method: 'GET', url: '/app-error' });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({ failed: true, code: 'SHOP_ERR_LIMIT', message: 'slow down' });

    const missing = await app.inject({ method: 'GET', url: '/domain-error' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('SHOP_ERR_MISSING');

    const crash = await app.inject({ method: 'GET', url: '/crash' });
    expect(crash.statusCode).toBe(500);
    expect(crash.json()).toEqual({
      failed: true,
      code: 'COMMON_ERR_INTERNAL',
      message: 'Internal Server Error',
    });

    const unknown = await app.inject({ method: 'GET', url: '/nowhere' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('COMMON_ERR_NOT_FOUND');
  });

  it('renders errors raised before routing (bad percent-encoding) through the envelope', async () => {
    app = buildApp();
    app.get('/items/:id', async () => ({ ok: true }));
    const response = await app.inject({ method: 'GET', url: '/items/%E0%A4%A' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ failed: true, code: 'FST_ERR_BAD_URL' });
  });

  it('echoes a caller request id', async () => {
    app = buildApp();
    app.get('/id', async (request) => ({ id: request.id }));
    const response = await app.inject({ method: 'GET', url: '/id', headers: { 'x-request-id': 'abc-123' } });
    expect(response.json()).toEqual({ id: 'abc-123' });
  });
});
