import { COMMON_ERROR_CODES } from '@kvforge/common-http';
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { DCACHE_ERROR_ENVELOPE } from './error-envelope';

const render = (code: string, statusCode = 500) =>
  DCACHE_ERROR_ENVELOPE.render({ code, statusCode, message: 'm', cause: undefined }, {} as FastifyRequest);

describe('DCACHE_ERROR_ENVELOPE', () => {
  it('maps codes to the spec error types and statuses', () => {
    const cases: Array<[string, number, string]> = [
      [COMMON_ERROR_CODES.BAD_JSON, 400, 'invalid_request'],
      [COMMON_ERROR_CODES.VALIDATION, 400, 'invalid_request'],
      [DCACHE_ERROR_CODES.VALUE_TOO_LARGE, 400, 'invalid_request'],
      [DCACHE_ERROR_CODES.CACHE_ERROR, 500, 'cache_error'],
      [DCACHE_ERROR_CODES.QUORUM_FAILED, 500, 'cache_error'],
      [DCACHE_ERROR_CODES.NODE_NOT_FOUND, 500, 'node_not_found'],
      [DCACHE_ERROR_CODES.FORWARD_FAILED, 500, 'forward_failed'],
      [DCACHE_ERROR_CODES.DECODE_FAILED, 500, 'decode_failed'],
      [DCACHE_ERROR_CODES.ADD_NODE, 500, 'add_node_error'],
      [DCACHE_ERROR_CODES.REMOVE_NODE, 500, 'remove_node_error'],
      [DCACHE_ERROR_CODES.UNAUTHORIZED, 401, 'unauthorized'],
    ];
    for (const [code, statusCode, error] of cases) {
      const rendered = render(code);
      expect(rendered.statusCode).toBe(statusCode);
      expect(rendered.body).toMatchObject({ error, message: 'm' });
    }
  });

  it('turns other client errors into invalid_request 400 and unknown failures into cache_error 500', () => {
    expect(render('FST_ERR_CTP_BODY_TOO_LARGE', 413)).toMatchObject({
      statusCode: 400,
      body: { error: 'invalid_request' },
    });
    expect(render(COMMON_ERROR_CODES.INTERNAL, 500)).toMatchObject({
      statusCode: 500,
      body: { error: 'cache_error' },
    });
    const body = render(DCACHE_ERROR_CODES.FORWARD_FAILED).body as { timestamp: string };
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
    expect(Object.keys(body).sort()).toEqual(['error', 'message', 'timestamp']);
  });

  it('a 421 carries the node table on internal routes only (node to node), never on client routes', () => {
    const table = { version: 7 };
    const cause = new DcacheError(DCACHE_ERROR_CODES.STALE_RING, 'stale', { details: { table } });
    const stale = (url: string) =>
      DCACHE_ERROR_ENVELOPE.render(
        { code: DCACHE_ERROR_CODES.STALE_RING, statusCode: 500, message: 'stale', cause },
        { url } as FastifyRequest,
      );
    expect(stale('/internal/cache/k')).toMatchObject({
      statusCode: 421,
      body: { error: 'stale_ring_version', table },
    });
    expect(Object.keys(stale('/api/v1/cache/k').body as object).sort()).toEqual([
      'error',
      'message',
      'timestamp',
    ]);
  });
});
