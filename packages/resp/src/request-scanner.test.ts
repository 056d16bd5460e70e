import { feedingPlans } from '@kvforge/testing';
import { describe, expect, it } from 'vitest';
import { RespProtocolError } from './protocol-error';
import { RequestScanner } from './request-scanner';

function argumentsOf(scanner: RequestScanner, buffer: Buffer): string[] {
  const result: string[] = [];
  for (let index = 0; index < scanner.argumentCount; index++) {
    result.push(buffer.toString('latin1', scanner.argumentStarts[index], scanner.argumentEnds[index]));
  }
  return result;
}

const validCases: { name: string; input: string; args: string[] }[] = [
  { name: 'multibulk SET', input: '*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n', args: ['SET', 'a', 'b'] },
  { name: 'empty bulk', input: '*2\r\n$3\r\nGET\r\n$0\r\n\r\n', args: ['GET', ''] },
  {
    name: 'binary bulk with CRLF inside',
    input: '*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\r\n\r\n',
    args: ['ECHO', '\r\n\r\n'],
  },
  { name: 'zero multibulk', input: '*0\r\n', args: [] },
  { name: 'negative multibulk', input: '*-1\r\n', args: [] },
  { name: 'inline PING CRLF', input: 'PING\r\n', args: ['PING'] },
  { name: 'inline PING LF', input: 'PING\n', args: ['PING'] },
  { name: 'inline extra spaces', input: '  SET  a\t  b \r\n', args: ['SET', 'a', 'b'] },
  { name: 'inline blank line', input: '\r\n', args: [] },
  {
    name: 'inline quotes and escapes',
    input: 'SET "a\\x41\\n\\"" \'b\\\'c\' ""\r\n',
    args: ['SET', 'aA\n"', "b'c", ''],
  },
];

describe('RequestScanner', () => {
  for (const testCase of validCases) {
    for (const plan of feedingPlans(testCase.input.length)) {
      it(`${testCase.name} (${plan.name})`, () => {
        const buffer = Buffer.from(testCase.input, 'latin1');
        const scanner = new RequestScanner();
        for (const cut of plan.cuts) {
          const end = scanner.scan(buffer, 0, cut);
          if (cut < buffer.length) expect(end).toBe(-1);
          else expect(end).toBe(buffer.length);
        }
        expect(argumentsOf(scanner, buffer)).toEqual(testCase.args);
      });
    }
  }

  it('scans a pipeline request after request', () => {
    const input = Buffer.from('*1\r\n$4\r\nPING\r\nECHO hi\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
    const scanner = new RequestScanner();
    const seen: string[][] = [];
    for (let start = 0; start < input.length; ) {
      const end = scanner.scan(input, start, input.length);
      expect(end).toBeGreaterThan(start);
      seen.push(argumentsOf(scanner, input));
      start = end;
    }
    expect(seen).toEqual([['PING'], ['ECHO', 'hi'], ['GET', 'k']]);
  });

  it('does not resume a suspended scan on another start or buffer', () => {
    const scanner = new RequestScanner();
    const first = Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
    expect(scanner.scan(first, 0, 10)).toBe(-1);
    const shifted = Buffer.concat([Buffer.from('xx'), first]);
    expect(scanner.scan(shifted, 2, shifted.length)).toBe(shifted.length);
    expect(argumentsOf(scanner, shifted)).toEqual(['GET', 'k']);
  });

  it('grows its offset arrays for many arguments', () => {
    const count = 1000;
    const parts = [`*${count}\r\n`];
    for (let index = 0; index < count; index++) parts.push(`$${String(index).length}\r\n${index}\r\n`);
    const buffer = Buffer.from(parts.join(''));
    const scanner = new RequestScanner();
    expect(scanner.scan(buffer, 0, buffer.length)).toBe(buffer.length);
    expect(scanner.argumentCount).toBe(count);
    expect(argumentsOf(scanner, buffer)[999]).toBe('999');
  });

  const errorCases: { name: string; input: string; message: string; offset: number; limits?: object }[] = [
    { name: 'bad multibulk count', input: '*abc\r\n', message: 'invalid multibulk length', offset: 0 },
    { name: 'not a bulk', input: '*2\r\n:1\r\n', message: "expected '$', got ':'", offset: 4 },
    { name: 'negative bulk length', input: '*1\r\n$-5\r\n', message: 'invalid bulk length', offset: 4 },
    { name: 'missing CRLF after bulk', input: '*1\r\n$1\r\nab\r\n', message: 'expected CRLF', offset: 9 },
    {
      name: 'multibulk over the limit',
      input: '*3\r\n',
      message: 'invalid multibulk length',
      offset: 0,
      limits: { maxMultibulkLength: 2 },
    },
    {
      name: 'bulk over the limit',
      input: '*1\r\n$4\r\n',
      message: 'invalid bulk length',
      offset: 4,
      limits: { maxBulkLength: 3 },
    },
    {
      name: 'inline over the limit',
      input: 'SET aaaaaaaaaaaaaaaaaaaaaaaa',
      message: 'too big inline request',
      offset: 0,
      limits: { maxInlineLength: 16 },
    },
    {
      name: 'multibulk count line over the limit',
      input: '*11111111111111111111',
      message: 'too big mbulk count string',
      offset: 0,
      limits: { maxInlineLength: 16 },
    },
    { name: 'unbalanced quotes', input: 'SET "abc\r\n', message: 'unbalanced quotes', offset: 4 },
    { name: 'text after closing quote', input: 'SET "a"b\r\n', message: 'unbalanced quotes', offset: 7 },
  ];
  for (const testCase of errorCases) {
    it(`rejects ${testCase.name} with the offset`, () => {
      const scanner = new RequestScanner(testCase.limits);
      const buffer = Buffer.from(testCase.input, 'latin1');
      let caught: unknown;
      try {
        scanner.scan(buffer, 0, buffer.length);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(RespProtocolError);
      expect((caught as RespProtocolError).message).toContain(testCase.message);
      expect((caught as RespProtocolError).offset).toBe(testCase.offset);
    });
  }
});
