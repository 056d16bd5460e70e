import { describe, expect, it } from 'vitest';
import { SpoolQueue } from './spool-queue';

describe('SpoolQueue', () => {
  it('keeps FIFO order across compactions', () => {
    const queue = new SpoolQueue<number>();
    let next = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 1000; i++) queue.push(round * 1000 + i);
      for (let i = 0; i < 700; i++) expect(queue.shift()).toBe(next++);
    }
    expect(queue.length).toBe(20 * 300);
    while (queue.length > 0) expect(queue.shift()).toBe(next++);
    expect(queue.shift()).toBeUndefined();
  });
});
