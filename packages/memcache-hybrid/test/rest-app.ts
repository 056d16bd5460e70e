import { createHttpServer } from '@kvforge/common-http';
import {
  BLOB_ACTION,
  MEDIUM,
  MEMCACHE_ERROR_ENVELOPE,
  MetaService,
  memcacheRestPlugin,
  standaloneHaSnapshot,
} from '../src/index';

/** A REST app over a service with two 64 KiB DRAM segments, rank 0 and 1, and one HBM segment. */
export async function buildRestApp() {
  const service = new MetaService();
  service.mount(0, MEDIUM.DRAM, 64 * 1024);
  service.mount(1, MEDIUM.DRAM, 64 * 1024);
  const app = createHttpServer({ errorEnvelope: MEMCACHE_ERROR_ENVELOPE });
  await app.register(memcacheRestPlugin, {
    service,
    ha: () => standaloneHaSnapshot('http://127.0.0.1:8000'),
  });
  await app.ready();
  const put = (key: string, size: number, replicas = 1) => {
    const { blobs } = service.alloc(key, { size, replicas, medium: MEDIUM.DRAM });
    for (const blob of blobs) {
      service.updateState({ key, rank: blob.rank, medium: blob.medium, action: BLOB_ACTION.WRITE_OK });
    }
  };
  return { app, service, put };
}
