import { type HostPort, parseHostPort } from '@kvforge/runtime';
import { z } from 'zod';

/**
 * A `host:port` of GunYu's config: runtime's IPv6-safe parser (`[addr]:port`, ports 1..65535, never
 * NaN), plus GunYu's empty host (`:6379`), which has always meant 127.0.0.1 here.
 */
export function parseAddress(address: string, options: { allowZeroPort?: boolean } = {}): HostPort {
  return parseHostPort(address.startsWith(':') ? `127.0.0.1${address}` : address, options);
}

function addressType(options: { allowZeroPort?: boolean }) {
  return z.string().superRefine((value, context) => {
    try {
      parseAddress(value, options);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });
}

/** A Redis node address. */
export const redisAddress = addressType({});
/** The ops API listen address (port 0 picks a free port). */
export const listenAddress = addressType({ allowZeroPort: true });
