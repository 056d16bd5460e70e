import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

// Ports are drawn below Linux's ephemeral range (32768–60999 by default). A port the OS hands out for
// `listen(0)` is also a candidate for the local end of any outgoing connection, so between "found
// free" and "bound by redis-server" a client socket could take it — and a server restarted on its old
// port could find it taken. Below 32768 no outgoing connection ever lands; the upper bound leaves room
// for a Redis Cluster bus port (port + 10000).
const LOWEST_PORT = 11_000;
const HIGHEST_PORT = 22_000;
const ATTEMPTS = 200;

/** Ports this process has handed out already: never handed out twice, even after their server stops. */
const handedOut = new Set<number>();

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port free on 127.0.0.1, outside the ephemeral range, whose cluster bus port (+10000) is free too.
 * Random, so parallel test processes do not walk the same sequence.
 */
export async function getFreePort(): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = randomInt(LOWEST_PORT, HIGHEST_PORT);
    if (handedOut.has(port)) continue;
    if (!(await canBind(port)) || !(await canBind(port + 10_000))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port in ${LOWEST_PORT}..${HIGHEST_PORT} after ${ATTEMPTS} attempts`);
}
