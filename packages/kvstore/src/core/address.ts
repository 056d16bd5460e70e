export interface HostPort {
  host: string;
  port: number;
}

const HOST_PATTERN = /^[A-Za-z0-9.-]+$/;

/** Parses `ip:port` (the original's `get_ip_port`); undefined when malformed. */
export function parseAddress(address: string): HostPort | undefined {
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const host = address.slice(0, colon);
  const portText = address.slice(colon + 1);
  if (!HOST_PATTERN.test(host) || !/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

export function isValidAddress(address: unknown): address is string {
  return typeof address === 'string' && parseAddress(address) !== undefined;
}
