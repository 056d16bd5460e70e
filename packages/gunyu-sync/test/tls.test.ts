import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@kvforge/common-http';
import {
  compareRedisDatasets,
  getFreePort,
  makeTempDirectory,
  type RedisProcess,
  removeDirectory,
  startRedis,
  waitFor,
} from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunyuConfigSchema } from '../src/config/config-schema';
import { SyncService } from '../src/sync-service';
import { fillEveryType } from './fill-dataset';
import { isCheckpointKey } from './sync-helpers';

let certificates: string;
let source: RedisProcess;
let target: RedisProcess;
let sourceTlsPort: number;
let targetTlsPort: number;

/** A throw-away CA and a server certificate for 127.0.0.1, made with the openssl CLI. */
function makeCertificates(directory: string): void {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: directory, stdio: 'ignore' });
  };
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=kvforge-test-ca',
  );
  writeFileSync(join(directory, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
}

async function startTlsRedis(tlsPort: number): Promise<RedisProcess> {
  return startRedis({
    args: [
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      join(certificates, 'server.crt'),
      '--tls-key-file',
      join(certificates, 'server.key'),
      '--tls-ca-cert-file',
      join(certificates, 'ca.crt'),
      '--tls-auth-clients',
      'no',
    ],
  });
}

function serviceFor(tlsOptions: Record<string, unknown>): SyncService {
  const config = loadConfig(gunyuConfigSchema, [
    {
      input: { redis: { addresses: [`127.0.0.1:${sourceTlsPort}`], tlsEnable: true, tlsOptions } },
      output: { redis: { addresses: [`127.0.0.1:${targetTlsPort}`], tlsEnable: true, tlsOptions } },
    },
  ]);
  return new SyncService(config, undefined, { syncer: { reconnectBackoffMs: 100 } });
}

beforeAll(async () => {
  certificates = makeTempDirectory('gunyu-tls-');
  makeCertificates(certificates);
  [sourceTlsPort, targetTlsPort] = [await getFreePort(), await getFreePort()];
  [source, target] = await Promise.all([startTlsRedis(sourceTlsPort), startTlsRedis(targetTlsPort)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (certificates) removeDirectory(certificates);
});

describe('TLS (input and output tlsEnable)', () => {
  it('replicates over TLS to both sides, verifying the servers against the configured CA', async () => {
    await fillEveryType(source.client());
    const service = serviceFor({ caFile: join(certificates, 'ca.crt') });
    const syncer = service.syncers[0];
    if (!syncer) throw new Error('no syncer');
    service.start();
    try {
      await waitFor(async () => syncer.counters.syncPhase === 2, { timeoutMs: 30_000, message: 'no stream' });
      await source.client().set('after-full-sync', 'over tls');
      await source.client().incrby('counter', 5);
      const offset = Number(/master_repl_offset:(\d+)/.exec(await source.client().info('replication'))?.[1]);
      await waitFor(async () => syncer.counters.ackOffset >= offset, {
        timeoutMs: 30_000,
        message: 'catch-up',
      });
      const result = await compareRedisDatasets(source.client(), target.client(), {
        ignoreKey: isCheckpointKey,
      });
      expect(result.differences).toEqual([]);
      expect(await target.client().get('after-full-sync')).toBe('over tls');
      expect(syncer.counters.fullSyncs).toBe(1);
    } finally {
      await service.stop();
    }
  }, 60_000);

  it('refuses a server whose certificate it cannot verify (no CA given), and names the TLS error', async () => {
    const service = serviceFor({});
    const syncer = service.syncers[0];
    if (!syncer) throw new Error('no syncer');
    service.start();
    try {
      await waitFor(async () => syncer.lastError !== undefined, { timeoutMs: 15_000, message: 'no error' });
      expect(syncer.lastError).toMatch(/certificate/i);
      expect(syncer.counters.syncPhase).toBe(0);
    } finally {
      await service.stop();
    }
  }, 30_000);

  it('names the unreadable file when a TLS option points nowhere', () => {
    expect(() => serviceFor({ caFile: '/nonexistent/ca.crt' })).toThrow(/input\.redis\.tlsOptions\.caFile/);
  });
});
