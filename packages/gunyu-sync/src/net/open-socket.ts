import { connect, type Socket } from 'node:net';
import { GUNYU_ERROR_CODES, GunyuError } from '../core/errors';

/**
 * Opens a TCP connection; `onOpening` receives the socket before it connects so a concurrent stop() can
 * destroy it — which settles the promise too (a destroyed socket closes without an error).
 */
export function openSocket(
  endpoint: { host: string; port: number },
  onOpening: (socket: Socket) => void,
): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    const onClose = () =>
      reject(new GunyuError(GUNYU_ERROR_CODES.stopped, 'connection closed while connecting'));
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.off('close', onClose);
      resolve(socket);
    });
    socket.once('error', reject);
    socket.once('close', onClose);
    onOpening(socket);
  });
}
