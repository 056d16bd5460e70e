import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { getFreePort } from '../src/ports';

describe('getFreePort', () => {
  it('hands out distinct bindable ports below the ephemeral range, with a free bus port', async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => getFreePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(11_000);
      expect(port + 10_000).toBeLessThan(32_768);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
