import { type EtcdProcess, startEtcd } from '@kvforge/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigServer } from '../src/config-server/config-server';
import { EtcdStateStore } from '../src/config-server/etcd-state-store';

describe('EtcdStateStore with a real etcd', () => {
  let etcd: EtcdProcess;
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
  });

  it('starts empty, then keeps tables and support_ha across ConfigServer restarts', async () => {
    const store = new EtcdStateStore({ endpoints: etcd.endpoints, key: '/test/state' });
    expect(await store.load()).toBeUndefined();
    const server = await ConfigServer.open({ store });
    await server.initTable('ns', 300, ['127.0.0.1:1', '127.0.0.1:2'], 'cache');
    await server.scaleCacheCluster('ns', 'del', '127.0.0.1:2');
    await server.setSupportHa(true);
    await store.close();

    const reopenedStore = new EtcdStateStore({ endpoints: etcd.endpoints, key: '/test/state' });
    const reopened = await ConfigServer.open({ store: reopenedStore });
    expect(reopened.getTable('ns')).toEqual(server.getTable('ns'));
    expect(reopened.getTable('ns').version).toBe(2);
    expect(reopened.supportHa).toBe(true);
    await reopenedStore.close();
  });
});
