import { describe, expect, it } from 'vitest';
import { metaServiceUrl, parseMetaServiceUrl, parseMetricsUrl } from './service-addresses';

describe('parseMetaServiceUrl', () => {
  it('reads tcp://HOST:PORT, a bare HOST:PORT and bracketed IPv6', () => {
    expect(parseMetaServiceUrl('tcp://127.0.0.1:5000')).toEqual({ host: '127.0.0.1', port: 5000 });
    expect(parseMetaServiceUrl('meta.local:5000')).toEqual({ host: 'meta.local', port: 5000 });
    expect(parseMetaServiceUrl('TCP://[::1]:5000')).toEqual({ host: '::1', port: 5000 });
  });

  it('refuses other schemes, a missing or bad port, and port 0 unless listening', () => {
    expect(() => parseMetaServiceUrl('http://127.0.0.1:5000')).toThrow('must be tcp://HOST:PORT');
    expect(() => parseMetaServiceUrl('tcp://127.0.0.1')).toThrow('missing ":port"');
    expect(() => parseMetaServiceUrl('tcp://127.0.0.1:70000')).toThrow('outside');
    expect(() => parseMetaServiceUrl('tcp://::1:5000')).toThrow('[addr]:port');
    expect(() => parseMetaServiceUrl('tcp://127.0.0.1:0')).toThrow('outside 1..65535');
    expect(parseMetaServiceUrl('tcp://127.0.0.1:0', { allowZeroPort: true }).port).toBe(0);
    expect(metaServiceUrl.safeParse('tcp://127.0.0.1:x').success).toBe(false);
  });
});

describe('parseMetricsUrl', () => {
  it('reads http://HOST[:PORT] (80 by default) and gives the origin to advertise', () => {
    expect(parseMetricsUrl('http://127.0.0.1:8000')).toEqual({
      host: '127.0.0.1',
      port: 8000,
      origin: 'http://127.0.0.1:8000',
    });
    expect(parseMetricsUrl('http://meta/')).toEqual({ host: 'meta', port: 80, origin: 'http://meta' });
    expect(parseMetricsUrl('[::1]:8000')).toEqual({ host: '::1', port: 8000, origin: 'http://[::1]:8000' });
    expect(() => parseMetricsUrl('https://meta:8443')).toThrow('only http:// is supported');
  });
});
