import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { installGracefulShutdown } from './graceful-shutdown';

describe('installGracefulShutdown', () => {
  it('drains once on SIGTERM, however many times shutdown is asked for', async () => {
    const listenersBefore = process.listenerCount('SIGTERM');
    const reasons: string[] = [];
    let release: () => void = () => {};
    const drained = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handle = installGracefulShutdown({
      logger: pino({ level: 'silent' }),
      exitProcess: false,
      onShutdown: async (reason) => {
        reasons.push(reason);
        await drained;
      },
    });
    process.emit('SIGTERM', 'SIGTERM');
    const second = handle.shutdown('manual');
    release();
    await second;
    handle.dispose();
    expect(reasons).toEqual(['SIGTERM']);
    expect(process.listenerCount('SIGTERM')).toBe(listenersBefore);
  });
});
