import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo';

describe('Fifo', () => {
  it('keeps order across growth and wrap-around', () => {
    const fifo = new Fifo<number>(2);
    const expected: number[] = [];
    let next = 0;
    for (let round = 0; round < 100; round++) {
      for (let index = 0; index < (round % 7) + 1; index++) {
        fifo.push(next);
        expected.push(next++);
      }
      for (let index = 0; index < (round % 5) + 1 && expected.length > 0; index++) {
        expect(fifo.peek()).toBe(expected[0]);
        expect(fifo.shift()).toBe(expected.shift());
      }
      expect(fifo.length).toBe(expected.length);
    }
    while (expected.length > 0) expect(fifo.shift()).toBe(expected.shift());
    expect(fifo.shift()).toBeUndefined();
  });
});
