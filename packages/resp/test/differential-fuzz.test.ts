import { seededRandom } from '@kvforge/testing';
import RedisParser from 'redis-parser';
import { describe, expect, it } from 'vitest';
import { RespDecoder } from '../src/decoder';
import { RespProtocolError } from '../src/protocol-error';
import { ReplyScanner } from '../src/reply-scanner';
import { RespErrorReply, type RespValue } from '../src/reply-values';
import { RequestScanner } from '../src/request-scanner';

type Random = () => number;

function randomText(random: Random, maxLength: number, allowLineBreaks: boolean): string {
  const length = Math.floor(random() * maxLength);
  let text = '';
  for (let index = 0; index < length; index++) {
    const code =
      allowLineBreaks && random() < 0.1 ? (random() < 0.5 ? 13 : 10) : 32 + Math.floor(random() * 95);
    text += String.fromCharCode(code);
  }
  return text;
}

/** A random RESP2 reply (bytes) — the dialect both parsers speak. */
function randomReply(random: Random, depth: number): string {
  const pick = random();
  if (pick < 0.15) return `+${randomText(random, 20, false)}\r\n`;
  if (pick < 0.25) return `-ERR ${randomText(random, 20, false)}\r\n`;
  if (pick < 0.4) return `:${Math.floor((random() - 0.5) * 2 ** 40)}\r\n`;
  if (pick < 0.45) return '$-1\r\n';
  if (pick < 0.5) return '*-1\r\n';
  if (pick < 0.75 || depth >= 3) {
    const text = randomText(random, random() < 0.05 ? 5000 : 40, true);
    return `$${Buffer.byteLength(text, 'latin1')}\r\n${text}\r\n`;
  }
  const count = Math.floor(random() * 5);
  let reply = `*${count}\r\n`;
  for (let index = 0; index < count; index++) reply += randomReply(random, depth + 1);
  return reply;
}

/** Both parsers' values in one comparable shape. */
function normalize(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof RespErrorReply || value instanceof Error) return { error: value.message };
  return value;
}

function decodeWithRedisParser(pieces: Buffer[]): unknown[] {
  const values: unknown[] = [];
  const parser = new RedisParser({
    returnReply: (reply) => values.push(normalize(reply)),
    returnError: (error) => values.push(normalize(error)),
    returnBuffers: true,
  });
  for (const piece of pieces) parser.execute(piece);
  return values;
}

function decodeWithOurs(pieces: Buffer[]): unknown[] {
  const decoder = new RespDecoder();
  const values: RespValue[] = [];
  for (const piece of pieces) values.push(...decoder.feed(piece));
  return values.map(normalize);
}

function splitRandomly(random: Random, bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let start = 0; start < bytes.length; ) {
    const size = 1 + Math.floor(random() * (random() < 0.5 ? 8 : 400));
    pieces.push(bytes.subarray(start, start + size));
    start += size;
  }
  return pieces;
}

describe('differential fuzz against redis-parser', () => {
  it('decodes 3000 random RESP2 streams exactly like redis-parser, at random splits', () => {
    const random = seededRandom(20261122);
    for (let round = 0; round < 3000; round++) {
      let stream = '';
      const replies = 1 + Math.floor(random() * 6);
      for (let index = 0; index < replies; index++) stream += randomReply(random, 0);
      const pieces = splitRandomly(random, Buffer.from(stream, 'latin1'));
      const expected = decodeWithRedisParser(pieces);
      expect(expected).toHaveLength(replies);
      expect(decodeWithOurs(pieces)).toEqual(expected);
    }
  });

  it('never throws anything but RespProtocolError on mutated input, and always terminates', () => {
    const random = seededRandom(7);
    const alphabet = '*$+-:_,#(!=%~>|;.?\r\n0123456789-abc ';
    let protocolErrors = 0;
    for (let round = 0; round < 5000; round++) {
      const bytes = Buffer.from(randomReply(random, 0), 'latin1');
      const mutations = 1 + Math.floor(random() * 3);
      for (let index = 0; index < mutations; index++) {
        bytes[Math.floor(random() * bytes.length)] = alphabet.charCodeAt(
          Math.floor(random() * alphabet.length),
        );
      }
      for (const scan of [
        () => new RespDecoder().feed(bytes),
        () => new ReplyScanner().scan(bytes, 0, bytes.length),
        () => {
          const scanner = new RequestScanner();
          for (let start = 0; start < bytes.length; ) {
            const end = scanner.scan(bytes, start, bytes.length);
            if (end < 0) break;
            expect(end).toBeGreaterThan(start);
            start = end;
          }
        },
      ]) {
        try {
          scan();
        } catch (error) {
          if (!(error instanceof RespProtocolError)) throw error;
          protocolErrors++;
        }
      }
    }
    expect(protocolErrors).toBeGreaterThan(0);
  });
});
