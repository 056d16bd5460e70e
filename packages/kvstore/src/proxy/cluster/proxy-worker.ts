import type { Socket } from 'node:net';
import { type Logger, SILENT_LOGGER } from '@kvforge/runtime';
import { KvStoreProxy } from '../kv-store-proxy';
import { isPrimaryMessage, type SocketMessage, snapshotStats, type WorkerMessage } from './worker-protocol';

export interface ProxyWorkerOptions {
  logger?: Logger;
}

/**
 * The body of one `--threads N` worker process (node:cluster): a KvStoreProxy with its own backend
 * connections that serves the client sockets its primary hands over. Table installs, set_config and
 * patterns come from the primary in order; a table is acknowledged once installed, so the primary
 * acknowledges a version to the ConfigServer only when every worker runs it. Resolves when the
 * primary asks it to drain (then the process exits).
 */
export function runProxyWorker(options: ProxyWorkerOptions = {}): Promise<void> {
  const logger = options.logger ?? SILENT_LOGGER;
  const send = (message: WorkerMessage): void => {
    if (process.connected) process.send?.(message);
  };
  let proxy: KvStoreProxy | undefined;
  return new Promise((resolve) => {
    process.on('message', (message: unknown, handle: unknown) => {
      if ((message as SocketMessage | undefined)?.type === 'socket') {
        const socket = handle as Socket | undefined;
        if (!socket) return;
        if (proxy) proxy.acceptConnection(socket);
        else socket.destroy(); // never happens: sockets follow init
        return;
      }
      if (!isPrimaryMessage(message)) return;
      switch (message.type) {
        case 'init': {
          const { init } = message;
          proxy = new KvStoreProxy({
            namespace: init.namespace,
            port: 0,
            password: init.password,
            config: init.config,
            logger,
            onClientClose: () => send({ type: 'client-closed' }),
            ...(init.maxPendingPerClient === undefined
              ? {}
              : { maxPendingPerClient: init.maxPendingPerClient }),
            ...(init.maxQueryBufferBytes === undefined
              ? {}
              : { maxQueryBufferBytes: init.maxQueryBufferBytes }),
          });
          for (const pattern of init.patterns) proxy.keyRewriter.add(pattern);
          if (init.table) proxy.setTable(init.table);
          proxy.serve();
          send({ type: 'initialized' });
          return;
        }
        case 'table':
          proxy?.setTable(message.table);
          send({ type: 'table-installed', id: message.id });
          return;
        case 'config':
          proxy?.updateConfig(message.update);
          return;
        case 'pattern':
          if (message.action === 'add') proxy?.keyRewriter.add(message.pattern);
          else proxy?.keyRewriter.delete(message.pattern);
          return;
        case 'stats':
          if (proxy) {
            send({
              type: 'stats',
              id: message.id,
              snapshot: snapshotStats(
                proxy.stats,
                proxy.clientCount,
                proxy.tableVersion,
                proxy.config.max_qps,
              ),
            });
          }
          return;
        case 'reset-stats':
          proxy?.stats.reset();
          return;
        case 'drain':
          void (proxy?.close() ?? Promise.resolve()).then(resolve);
          return;
      }
    });
    send({ type: 'ready' });
  });
}
