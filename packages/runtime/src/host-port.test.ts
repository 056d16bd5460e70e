import { describe, expect, it } from 'vitest';
import { formatHostPort, hostOf, hostPort, parseHostPort } from './host-port';

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:6379', '127.0.0.1', 6379],
    ['localhost:1', 'localhost', 1],
    ['redis-1.internal:65535', 'redis-1.internal', 65535],
    ['[::1]:6380', '::1', 6380],
    ['[fe80::1]:7000', 'fe80::1', 7000],
  ])('parses %s', (text, host, port) => {
    expect(parseHostPort(text)).toEqual({ host, port });
    expect(formatHostPort({ host, port })).toBe(text);
  });

  it.each([
    ['127.0.0.1', 'missing ":port"'],
    ['127.0.0.1:', 'is not a number'],
    ['127.0.0.1:abc', 'is not a number'],
    ['127.0.0.1:0', 'outside 1..65535'],
    ['127.0.0.1:65536', 'outside 1..65535'],
    ['::1:6379', '[addr]:port'],
    ['[::1', 'missing "]"'],
    ['[nothost]:1', 'not an IPv6 address'],
    [':6379', 'not a host name'],
    ['bad host:1', 'not a host name'],
  ])('rejects %s naming the fault', (text, fault) => {
    expect(() => parseHostPort(text)).toThrow(fault);
  });

  it('takes a default port and port 0 only when asked', () => {
    expect(parseHostPort('example', { defaultPort: 6379 })).toEqual({ host: 'example', port: 6379 });
    expect(parseHostPort('::1', { defaultPort: 6379 })).toEqual({ host: '::1', port: 6379 });
    expect(parseHostPort('0.0.0.0:0', { allowZeroPort: true }).port).toBe(0);
  });

  it('hostOf is IPv6-safe', () => {
    expect(hostOf('[::1]:80')).toBe('::1');
    expect(hostOf('10.0.0.1:80')).toBe('10.0.0.1');
  });

  it('the zod type reports the parse error', () => {
    expect(hostPort.safeParse('127.0.0.1:1').success).toBe(true);
    const result = hostPort.safeParse('127.0.0.1:99999');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('outside');
  });
});
