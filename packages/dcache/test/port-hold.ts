import { createServer, type Server } from 'node:net';

/**
 * A loopback port held by a listener that resets every connection, so nothing else can bind it and
 * a peer dialing it sees "unreachable". Release it just before the real server listens: unlike
 * getFreePort (free now, bound later), no other process can take the port in between.
 */
export interface PortHold {
  port: number;
  address: string;
  release(): Promise<void>;
}

export async function holdPort(): Promise<PortHold> {
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no port held');
  let released: Promise<void> | undefined;
  return {
    port: address.port,
    address: `127.0.0.1:${address.port}`,
    release() {
      released ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return released;
    },
  };
}
