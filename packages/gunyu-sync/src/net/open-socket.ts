import { connect, isIP, type Socket } from 'node:net';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';

/**
 * Opens a TCP connection (TLS when `endpoint.tls` is set); `onOpening` receives the socket before it
 * connects so a concurrent stop() can destroy it — which settles the promise too (a destroyed socket
 * closes without an error).
 */
export function openSocket(
  endpoint: { host: string; port: number; tls?: ConnectionOptions | undefined },
  onOpening: (socket: Socket) => void,
): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = endpoint.tls
      ? connectTls({
          // SNI takes host names only (RFC 6066): an IP address is verified against the certificate's IP SANs.
          ...(isIP(endpoint.host) ? {} : { servername: endpoint.host }),
          ...endpoint.tls,
          host: endpoint.host,
          port: endpoint.port,
        })
      : connect({ host: endpoint.host, port: endpoint.port });
    socket.setNoDelay(true);
    // Owners add their own 'error' handlers once connected; this one keeps an error that arrives in
    // between (or a second one, e.g. a TLS alert after a failed handshake) from crashing the process.
    socket.on('error', () => {});
    const onClose = () =>
      reject(new GunyuError(GUNYU_ERROR_CODES.stopped, 'connection closed while connecting'));
    socket.once(endpoint.tls ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject);
      socket.off('close', onClose);
      resolve(socket);
    });
    socket.once('error', reject);
    socket.once('close', onClose);
    onOpening(socket);
  });
}
