import { type HostPort, HostPortError, parseHostPort } from '@kvforge/runtime';
import { z } from 'zod';

const TCP_SCHEME = 'tcp://';

/**
 * The meta RPC address as the original writes it, `tcp://HOST:PORT`, or a bare `HOST:PORT`. IPv6 hosts
 * are bracketed (`tcp://[::1]:5000`); the port is checked (port 0, "any free port", only for a listener).
 */
export function parseMetaServiceUrl(url: string, options: { allowZeroPort?: boolean } = {}): HostPort {
  const text = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme && scheme[0].toLowerCase() !== TCP_SCHEME)
    throw new HostPortError(`"${url}": the meta service URL must be tcp://HOST:PORT`);
  return parseHostPort(scheme ? text.slice(TCP_SCHEME.length) : text, {
    ...(options.allowZeroPort ? { allowZeroPort: true } : {}),
  });
}

/**
 * The REST listener, `http://HOST[:PORT]` (port 80 when absent) or a bare `HOST:PORT`; only plain http.
 * Returns the host unbracketed (what `listen` takes) and the origin the service advertises.
 */
export function parseMetricsUrl(url: string): HostPort & { origin: string } {
  const text = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme && scheme[0].toLowerCase() !== 'http://')
    throw new HostPortError(`"${url}": only http:// is supported`);
  const rest = (scheme ? text.slice(scheme[0].length) : text).replace(/\/+$/, '');
  const address = parseHostPort(rest, { defaultPort: 80, allowZeroPort: true });
  return { ...address, origin: httpOrigin(address) };
}

/** `http://host[:port]` with an IPv6 host bracketed and port 80 left out, like URL#origin. */
export function httpOrigin({ host, port }: HostPort): string {
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return port === 80 ? `http://${bracketed}` : `http://${bracketed}:${port}`;
}

function zodAddress(parse: (value: string) => unknown) {
  return z.string().superRefine((value, context) => {
    try {
      parse(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });
}

/** A zod string that must be a meta RPC listen address (`tcp://HOST:PORT`); the value stays the string. */
export const metaServiceUrl = zodAddress((value) => parseMetaServiceUrl(value, { allowZeroPort: true }));

/** Meta services to connect to: one `tcp://HOST:PORT` or an HA pair comma-separated; the value stays the string. */
export const metaServiceUrlList = zodAddress((value) => {
  const urls = value.split(',').map((url) => url.trim());
  if (urls.some((url) => url === '')) throw new Error(`empty entry in the meta service list '${value}'`);
  for (const url of urls) parseMetaServiceUrl(url);
});

/** A zod string that must be an `http://HOST[:PORT]` REST listen address. */
export const metricsUrl = zodAddress(parseMetricsUrl);

/** A data-protocol listen address `HOST:PORT` (port 0: ephemeral), parsed to `{host, port}`. */
export const dataListenAddress = z.string().transform((value, context) => {
  try {
    return parseHostPort(value, { allowZeroPort: true });
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});
