import { makeTempDirectory, type RedisProcess, removeDirectory, startRedis, waitFor } from '@kvforge/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvStoreProxyService } from '../src/proxy/kv-store-proxy-service';
import { type ConfigServerApp, startConfigServerApp } from './config-server-fixture';

const KEYS_PER_WRITER = 200;

/**
 * One writer per proxy, each on its own keys, one SET at a time with a rising sequence number as
 * the value. It remembers the last acknowledged value of each key and counts READONLY replies.
 */
class Writer {
  readonly acknowledged = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonlyReplies = 0;
  writes = 0;
  private sequence = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    readonly name: string,
    private readonly client: Redis,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const key = `${this.name}-${this.sequence % KEYS_PER_WRITER}`;
      const value = ++this.sequence;
      try {
        await this.client.set(key, String(value));
        this.acknowledged.set(key, value);
        this.writes++;
      } catch (error) {
        const message = (error as Error).message;
        if (message.includes('READONLY')) this.readonlyReplies++;
        this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

describe('failover promotes the replica before any proxy routes to it', () => {
  let first: RedisProcess;
  let other: RedisProcess;
  const replicas: RedisProcess[] = [];
  let configServer: ConfigServerApp;
  let dataDir: string;
  const services: KvStoreProxyService[] = [];
  const clients: Redis[] = [];

  beforeAll(async () => {
    first = await startRedis();
    other = await startRedis();
    replicas.push(await startRedis({ replicaOf: { host: '127.0.0.1', port: first.port } }));
    dataDir = makeTempDirectory('kvstore-order-');
    configServer = await startConfigServerApp(dataDir);
    await configServer.server.initTable('order', 256, [first.address, other.address]);
    await configServer.server.setSupportHa(true);
    for (let index = 0; index < 2; index++) {
      const service = new KvStoreProxyService({
        namespace: 'order',
        port: 0,
        configServer: configServer.address,
        watchMs: 500,
        retryMs: 50,
        monitorIntervalSeconds: 0.2,
        probeTimeoutMs: 300,
        config: { redis_down_timeout: 0.4 },
      });
      services.push(service);
      await service.start();
    }
  }, 60_000);

  // Each cleanup step is timed: once, under a full suite on a loaded box, this hook ran past 60 s and
  // the log said nothing about which step it was.
  afterAll(async () => {
    const started = Date.now();
    const steps: string[] = [];
    const timed = async (name: string, step: () => Promise<unknown>) => {
      const at = Date.now();
      await step();
      steps.push(`${name} ${Date.now() - at} ms`);
    };
    for (const client of clients) client.disconnect();
    for (const [index, service] of services.entries()) await timed(`proxy ${index}`, () => service.stop());
    await timed('config server', async () => configServer?.close());
    await timed('redis', () => Promise.all([first, other, ...replicas].map((redis) => redis?.stop())));
    if (dataDir) removeDirectory(dataDir);
    if (Date.now() - started > 5000) console.warn(`failover-order cleanup was slow: ${steps.join(', ')}`);
  }, 180_000);

  const proxyClient = (service: KvStoreProxyService): Redis => {
    const client = new Redis({ port: service.address.port, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  };

  /** Kills `master` under two writers and waits until both proxies route its buckets to `replica`. */
  async function failOver(master: RedisProcess, replica: RedisProcess, run: number): Promise<Writer[]> {
    const masterClient = master.client();
    try {
      await waitFor(async () => (await masterClient.info('replication')).includes('state=online'), {
        message: `run ${run}: replica online`,
      });
    } finally {
      masterClient.disconnect();
    }
    for (const service of services) {
      await waitFor(() => service.monitor.replicaOf(master.address) === replica.address, {
        message: `run ${run}: every monitor saw the replica`,
      });
    }
    const writers = services.map((service, index) => new Writer(`run${run}-w${index}`, proxyClient(service)));
    await waitFor(() => writers.every((writer) => writer.writes >= 200), { message: 'writers running' });
    await master.kill('SIGKILL');
    for (const service of services) {
      await waitFor(() => service.proxy.currentTable?.owners.includes(replica.address) ?? false, {
        timeoutMs: 20_000,
        message: `run ${run}: proxies installed the table naming the replica`,
      });
    }
    // Writes keep landing on the promoted replica after the switch.
    const landed = writers.map((writer) => writer.writes);
    await waitFor(() => writers.every((writer, index) => writer.writes >= landed[index]! + 200), {
      message: `run ${run}: writes succeed after failover`,
    });
    for (const writer of writers) await writer.stop();
    return writers;
  }

  async function assertNothingLost(writers: Writer[]): Promise<void> {
    const reader = proxyClient(services[0]!);
    for (const writer of writers) {
      const keys = [...writer.acknowledged.keys()];
      const values = await reader.mget(...keys);
      const lostOrStale = keys.filter((key, index) => Number(values[index]) < writer.acknowledged.get(key)!);
      expect(lostOrStale).toEqual([]);
    }
  }

  it('answers no write with READONLY and loses no acknowledged write, in two failovers in a row', async () => {
    const firstRun = await failOver(first, replicas[0]!, 1);
    expect(configServer.server.getTable('order').owners).not.toContain(first.address);
    await assertNothingLost(firstRun);

    // The promoted replica gets a replica of its own, and then dies too.
    replicas.push(await startRedis({ replicaOf: { host: '127.0.0.1', port: replicas[0]!.port } }));
    const secondRun = await failOver(replicas[0]!, replicas[1]!, 2);
    expect(configServer.server.getTable('order').version).toBe(3);
    await assertNothingLost(secondRun);

    for (const writer of [...firstRun, ...secondRun]) {
      expect(writer.readonlyReplies, JSON.stringify([...writer.errors])).toBe(0);
    }
  }, 120_000);
});
