import { type HostPort, parseHostPort } from '@kvforge/runtime';

export type { HostPort };

/**
 * `ip:port` (the original's `get_ip_port`) → host and port, undefined when malformed. A thin
 * wrapper over runtime's parseHostPort (IPv6 written `[addr]:port`) for the places where a bad
 * address is a domain outcome (1005 "invalid redis address"), not an exception.
 */
export function parseAddress(address: string): HostPort | undefined {
  try {
    return parseHostPort(address);
  } catch {
    return undefined;
  }
}

export function isValidAddress(address: unknown): address is string {
  return typeof address === 'string' && parseAddress(address) !== undefined;
}
