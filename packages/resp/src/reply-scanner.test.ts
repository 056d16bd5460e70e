import { feedingPlans } from '@kvforge/testing';
import { describe, expect, it } from 'vitest';
import { RespDecoder } from './decoder';
import { RespProtocolError } from './protocol-error';
import { ReplyScanner } from './reply-scanner';
import { RespErrorReply, RespPush, type RespValue, RespVerbatimString } from './reply-values';

const cases: { name: string; input: string; type: string; value: RespValue; integer?: number }[] = [
  { name: 'simple string', input: '+OK\r\n', type: '+', value: 'OK' },
  { name: 'error', input: '-ERR bad thing\r\n', type: '-', value: new RespErrorReply('ERR bad thing') },
  { name: 'integer', input: ':-123\r\n', type: ':', value: -123, integer: -123 },
  { name: 'big integer', input: ':9007199254740993\r\n', type: ':', value: 9007199254740993n },
  { name: 'null bulk', input: '$-1\r\n', type: '$', value: null },
  { name: 'empty bulk', input: '$0\r\n\r\n', type: '$', value: Buffer.alloc(0) },
  { name: 'binary bulk', input: '$4\r\n\r\n\r\n\r\n', type: '$', value: Buffer.from('\r\n\r\n') },
  { name: 'null array', input: '*-1\r\n', type: '*', value: null },
  { name: 'empty array', input: '*0\r\n', type: '*', value: [] },
  {
    name: 'nested array',
    input: '*3\r\n$1\r\na\r\n*2\r\n:1\r\n*0\r\n+x\r\n',
    type: '*',
    value: [Buffer.from('a'), [1, []], 'x'],
  },
  { name: 'RESP3 null', input: '_\r\n', type: '_', value: null },
  { name: 'double', input: ',3.25\r\n', type: ',', value: 3.25 },
  { name: 'double inf', input: ',-inf\r\n', type: ',', value: Number.NEGATIVE_INFINITY },
  { name: 'boolean', input: '#t\r\n', type: '#', value: true },
  {
    name: 'big number',
    input: '(123456789012345678901234567890\r\n',
    type: '(',
    value: 123456789012345678901234567890n,
  },
  {
    name: 'bulk error',
    input: '!21\r\nSYNTAX invalid syntax\r\n',
    type: '!',
    value: new RespErrorReply('SYNTAX invalid syntax'),
  },
  {
    name: 'verbatim',
    input: '=15\r\ntxt:Some string\r\n',
    type: '=',
    value: new RespVerbatimString('txt', 'Some string'),
  },
  {
    name: 'map',
    input: '%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n:2\r\n',
    type: '%',
    value: new Map<RespValue, RespValue>([
      ['a', 1],
      ['b', [2]],
    ]),
  },
  { name: 'set', input: '~2\r\n+a\r\n+b\r\n', type: '~', value: ['a', 'b'] },
  {
    name: 'push',
    input: '>2\r\n+message\r\n$2\r\nhi\r\n',
    type: '>',
    value: new RespPush(['message', Buffer.from('hi')]),
  },
  { name: 'attribute then value', input: '|1\r\n+ttl\r\n:3600\r\n+OK\r\n', type: '+', value: 'OK' },
  {
    name: 'streamed string',
    input: '$?\r\n;4\r\nHell\r\n;2\r\no!\r\n;0\r\n',
    type: '$',
    value: Buffer.from('Hello!'),
  },
  { name: 'streamed array', input: '*?\r\n:1\r\n*?\r\n.\r\n:2\r\n.\r\n', type: '*', value: [1, [], 2] },
  {
    name: 'streamed map',
    input: '%?\r\n+a\r\n:1\r\n.\r\n',
    type: '%',
    value: new Map<RespValue, RespValue>([['a', 1]]),
  },
];

describe('ReplyScanner and RespDecoder', () => {
  for (const testCase of cases) {
    for (const plan of feedingPlans(testCase.input.length, 7)) {
      it(`${testCase.name} (${plan.name})`, () => {
        const buffer = Buffer.from(testCase.input, 'latin1');
        const scanner = new ReplyScanner();
        for (const cut of plan.cuts) {
          const end = scanner.scan(buffer, 0, cut);
          expect(end).toBe(cut < buffer.length ? -1 : buffer.length);
        }
        expect(String.fromCharCode(scanner.lastType)).toBe(testCase.type);
        if (testCase.integer !== undefined) expect(scanner.integerValue).toBe(testCase.integer);

        const decoder = new RespDecoder();
        const values: RespValue[] = [];
        let previous = 0;
        for (const cut of plan.cuts) {
          values.push(...decoder.feed(buffer.subarray(previous, cut)));
          previous = cut;
        }
        expect(values).toEqual([testCase.value]);
        expect(decoder.pendingBytes).toBe(0);
      });
    }
  }

  it('reports error replies', () => {
    const scanner = new ReplyScanner();
    const buffer = Buffer.from('-WRONGTYPE x\r\n');
    scanner.scan(buffer, 0, buffer.length);
    expect(scanner.isError).toBe(true);
    const [value] = new RespDecoder().feed(buffer);
    expect((value as RespErrorReply).prefix).toBe('WRONGTYPE');
  });

  it('decodes bulks as strings and maps as objects on request', () => {
    const decoder = new RespDecoder({ bulkAsString: true, mapAs: 'object' });
    expect(decoder.feed(Buffer.from('%1\r\n$1\r\nk\r\n$2\r\nvv\r\n'))).toEqual([{ k: 'vv' }]);
  });

  it('keeps decoded bulks intact while later chunks arrive', () => {
    const decoder = new RespDecoder();
    const [first] = decoder.feed(Buffer.from('$3\r\nabc\r\n$3\r\nd'));
    decoder.feed(Buffer.from('ef\r\n'));
    for (let index = 0; index < 50; index++) {
      decoder.feed(Buffer.from('$3\r\nxyz\r\n$1\r\nq'));
      decoder.feed(Buffer.from('\r\n'));
    }
    expect(first).toEqual(Buffer.from('abc'));
  });

  const errorCases: { name: string; input: string; message: string; offset: number; limits?: object }[] = [
    { name: 'unknown type byte', input: '?x\r\n', message: "invalid reply type byte '?'", offset: 0 },
    { name: 'bad integer', input: ':12a\r\n', message: 'invalid integer', offset: 0 },
    { name: 'bad boolean', input: '#x\r\n', message: 'invalid boolean', offset: 0 },
    { name: 'missing CRLF after bulk', input: '$2\r\nabcd\r\n', message: 'expected CRLF', offset: 6 },
    { name: 'negative aggregate', input: '%-1\r\n', message: 'invalid multibulk length', offset: 0 },
    {
      name: 'nested element error offset',
      input: '*2\r\n:1\r\n:x\r\n',
      message: 'invalid integer',
      offset: 8,
    },
    {
      name: 'too deep',
      input: `${'*1\r\n'.repeat(5)}:1\r\n`,
      message: 'too deeply nested',
      offset: 12,
      limits: { maxNestingDepth: 3 },
    },
    {
      name: 'bulk over the limit',
      input: '$10\r\n',
      message: 'invalid bulk length',
      offset: 0,
      limits: { maxBulkLength: 9 },
    },
  ];
  for (const testCase of errorCases) {
    it(`rejects ${testCase.name} with the offset`, () => {
      const buffer = Buffer.from(testCase.input, 'latin1');
      let caught: unknown;
      try {
        new ReplyScanner(testCase.limits).scan(buffer, 0, buffer.length);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(RespProtocolError);
      expect((caught as RespProtocolError).message).toContain(testCase.message);
      expect((caught as RespProtocolError).offset).toBe(testCase.offset);
    });
  }
});
