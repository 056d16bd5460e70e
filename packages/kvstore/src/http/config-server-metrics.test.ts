import { describe, expect, it } from 'vitest';
import { ConfigServer } from '../config-server/config-server';
import { MemoryStateStore } from '../config-server/state-store';
import { renderConfigServerMetrics } from './config-server-metrics';

describe('ConfigServer metrics', () => {
  it('kvstore_cs_master follows the HA role (what the master-missing and split-brain alerts read)', async () => {
    const server = await ConfigServer.open({ store: new MemoryStateStore() });
    const slave = await ConfigServer.open({ store: new MemoryStateStore(), isMaster: false });
    try {
      expect(renderConfigServerMetrics(server, [])).toContain('\nkvstore_cs_master 1\n');
      expect(renderConfigServerMetrics(slave, [])).toContain('\nkvstore_cs_master 0\n');
      server.setRole(false, '127.0.0.1:1');
      expect(renderConfigServerMetrics(server, [])).toContain('\nkvstore_cs_master 0\n');
    } finally {
      server.close();
      slave.close();
    }
  });
});
