import { hostOf } from '@kvforge/runtime';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DCACHE_ERROR_CODES, DcacheError } from '../core/errors';
import { TOKEN_HEADER } from '../core/internal-api';
import type { DcacheNode } from '../node/dcache-node';

const isLoopback = (ip: string) =>
  ip === '::1' || ip === '::ffff:127.0.0.1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');

/** Fastify reports IPv4 peers of a dual-stack socket as `::ffff:a.b.c.d`. */
const plainIp = (ip: string) => (ip.startsWith('::ffff:') ? ip.slice(7) : ip);

function memberHost(address: string): string | undefined {
  try {
    return hostOf(address);
  } catch {
    return undefined;
  }
}

/**
 * The onRequest guard of /internal and /admin: the cluster token when one is configured, else
 * loopback and the hosts of ring members only.
 */
export function peerGuard(node: DcacheNode) {
  // A callback hook, not an async one: forwarded GETs pass it on the hot path, promise-free.
  return (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => {
    done(admitted(node, request));
  };
}

/** undefined when the request may use internal/admin routes, else the UNAUTHORIZED error. */
function admitted(node: DcacheNode, request: FastifyRequest): DcacheError | undefined {
  const token = node.options.clusterToken;
  if (token !== undefined) {
    const bearer = request.headers.authorization;
    if (request.headers[TOKEN_HEADER] === token || bearer === `Bearer ${token}`) return undefined;
    return new DcacheError(DCACHE_ERROR_CODES.UNAUTHORIZED, 'cluster token required');
  }
  if (isLoopback(request.ip)) return undefined;
  const peer = plainIp(request.ip);
  if (node.table.members.some((member) => memberHost(member.address) === peer)) return undefined;
  return new DcacheError(
    DCACHE_ERROR_CODES.UNAUTHORIZED,
    'internal and admin routes accept cluster peers only',
  );
}
