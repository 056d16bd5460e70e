// A ConfigServer as its own process, so tests can kill -9 it. argv[2]: JSON
// `{ port, etcdEndpoints?, dataDir?, electionTtlSeconds?, isMaster?, peer? }`.
import { createHttpServer } from '@kvforge/common-http';
import type { Logger, LogMethod } from '@kvforge/runtime';
import { ConfigServerService } from '../src/config-server/config-server-service';
import { configServerPlugin } from '../src/http/config-server-plugin';
import { KVSTORE_ERROR_ENVELOPE } from '../src/http/envelope';

const settings = JSON.parse(process.argv[2] ?? '{}') as {
  port: number;
  etcdEndpoints?: string[];
  dataDir?: string;
  electionTtlSeconds?: number;
  isMaster?: boolean;
  peer?: string;
};
// One JSON line per log call on stderr: the fixture keeps the output, and a failed test prints it.
function stderrLogger(bindings: Record<string, unknown>): Logger {
  const method =
    (level: string): LogMethod =>
    (first: object | string, message?: string) => {
      const fields = typeof first === 'string' ? { msg: first } : { ...first, msg: message };
      process.stderr.write(
        `${JSON.stringify({ time: new Date().toISOString(), level, ...bindings, ...fields })}\n`,
      );
    };
  return {
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    child: (more) => stderrLogger({ ...bindings, ...more }),
  };
}

const service = await ConfigServerService.open({
  store: settings.etcdEndpoints
    ? {
        kind: 'etcd',
        endpoints: settings.etcdEndpoints,
        ...(settings.electionTtlSeconds ? { electionTtlSeconds: settings.electionTtlSeconds } : {}),
      }
    : {
        kind: 'file',
        dataDir: settings.dataDir!,
        ...(settings.peer ? { peer: settings.peer, replicationWaitMs: 1000 } : {}),
      },
  ...(settings.isMaster === undefined ? {} : { isMaster: settings.isMaster }),
  migration: { batchSize: 200 },
  maxWatchMs: 2000,
  logger: stderrLogger({ port: settings.port }),
});
const app = createHttpServer({ errorEnvelope: KVSTORE_ERROR_ENVELOPE });
await app.register(configServerPlugin, service.httpPluginOptions);
await app.listen({ host: '127.0.0.1', port: settings.port });
await service.start(`127.0.0.1:${settings.port}`);
process.stdout.write('config server ready\n');
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => service.stop())
    .then(() => process.exit(0));
});
