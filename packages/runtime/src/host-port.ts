import { isIP } from 'node:net';
import { z } from 'zod';

export interface HostPort {
  host: string;
  port: number;
}

/** A host:port that does not parse; the message says what is wrong with it. */
export class HostPortError extends Error {
  readonly code = 'RUNTIME_ERR_HOST_PORT';
  constructor(message: string) {
    super(message);
    this.name = 'HostPortError';
  }
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/**
 * Parses `host:port`, `[v6]:port` or (with `defaultPort`) a bare host. IPv6 needs brackets when
 * a port follows, since `::1:6379` is ambiguous. Ports are 1..65535 (0 only with `allowZeroPort`,
 * for "pick a free port" listens).
 */
export function parseHostPort(
  address: string,
  options: { defaultPort?: number; allowZeroPort?: boolean } = {},
): HostPort {
  const text = address.trim();
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw new HostPortError(`"${address}": missing "]" after the IPv6 address`);
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':'))
      throw new HostPortError(`"${address}": expected ":port" after "]"`);
    portText = rest === '' ? undefined : rest.slice(1);
    if (isIP(host) !== 6) throw new HostPortError(`"${address}": "${host}" is not an IPv6 address`);
  } else {
    const colons = text.split(':').length - 1;
    if (colons > 1) {
      if (isIP(text) === 6 && options.defaultPort !== undefined)
        return { host: text, port: options.defaultPort };
      throw new HostPortError(`"${address}": write an IPv6 address with a port as [addr]:port`);
    }
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
    if (!HOSTNAME.test(host))
      throw new HostPortError(`"${address}": "${host}" is not a host name or IPv4 address`);
  }
  if (portText === undefined) {
    if (options.defaultPort === undefined) throw new HostPortError(`"${address}": missing ":port"`);
    return { host, port: options.defaultPort };
  }
  if (!/^\d{1,5}$/.test(portText))
    throw new HostPortError(`"${address}": port "${portText}" is not a number`);
  const port = Number(portText);
  const lowest = options.allowZeroPort ? 0 : 1;
  if (port < lowest || port > 65535) {
    throw new HostPortError(`"${address}": port ${port} is outside ${lowest}..65535`);
  }
  return { host, port };
}

/** The inverse of parseHostPort: brackets an IPv6 host. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host part only, IPv6-safe (where `address.split(':')[0]` is not). */
export function hostOf(address: string): string {
  return parseHostPort(address, { defaultPort: 0, allowZeroPort: true }).host;
}

/** A zod string that must be a valid host:port; the parsed value stays the string. */
export const hostPort = z.string().superRefine((value, context) => {
  try {
    parseHostPort(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

/** A host:port a server may listen on (port 0 picks a free port). */
export const listenAddress = z.string().superRefine((value, context) => {
  try {
    parseHostPort(value, { allowZeroPort: true });
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
  }
});
