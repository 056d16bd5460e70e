import { describe, expect, it } from 'vitest';
import { InputBuffer } from './input-buffer';

describe('InputBuffer', () => {
  it('uses a chunk in place when nothing is pending', () => {
    const input = new InputBuffer();
    const chunk = Buffer.from('abc');
    input.append(chunk);
    expect(input.buffer).toBe(chunk);
    expect(input.length).toBe(3);
    input.consumeTo(3);
    expect(input.length).toBe(0);
  });

  it('gathers split data and never overwrites bytes already handed out', () => {
    const input = new InputBuffer();
    input.append(Buffer.from('hello'));
    input.consumeTo(2);
    input.append(Buffer.from(' world'));
    expect(input.buffer.toString('latin1', input.start, input.end)).toBe('llo world');
    const handedOut = input.buffer.subarray(input.start, input.start + 3);
    input.consumeTo(input.start + 3);
    for (let index = 0; index < 2000; index++) input.append(Buffer.from('0123456789'));
    expect(handedOut.toString()).toBe('llo');
    expect(input.length).toBe(6 + 20_000);
    expect(input.buffer.toString('latin1', input.start, input.start + 6)).toBe(' world');
  });

  it('gathers a 10 MB value from 64 KB reads with amortised copying', () => {
    const input = new InputBuffer();
    const total = 10 * 1024 * 1024;
    const piece = Buffer.alloc(64 * 1024, 7);
    input.append(Buffer.from('x'));
    for (let received = 0; received < total; received += piece.length) input.append(piece);
    expect(input.length).toBe(total + 1);
    expect(input.buffer.length).toBeLessThan(4 * total);
  });
});
