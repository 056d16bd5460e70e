import { describe, expect, it } from 'vitest';
import { decodeAll } from './decoder';
import { RequestScanner } from './request-scanner';
import { encodeCommand, RespWriter } from './writer';

describe('RespWriter', () => {
  it('encodes a command with strings, buffers, numbers and bigints', () => {
    const bytes = encodeCommand(['SET', Buffer.from('k'), 42, 12345678901234567890n, 'é']);
    expect(bytes.toString('utf8')).toBe(
      '*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n$20\r\n12345678901234567890\r\n$2\r\né\r\n',
    );
  });

  it('writes every reply shape', () => {
    const writer = new RespWriter();
    writer.writeSimple('OK').writeError('ERR a\r\nb').writeInteger(-7).writeInteger(0).writeInteger(1e16);
    writer.writeNullBulk().writeNullArray().writeArrayHeader(2).writeBulk('a').writeBulk(Buffer.from('b'));
    writer.writeMapHeader(0).writeRaw(Buffer.from('xx+raw\r\nyy'), 2, 8);
    expect(writer.take().toString()).toBe(
      '+OK\r\n-ERR a b\r\n:-7\r\n:0\r\n:10000000000000000\r\n$-1\r\n*-1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n%0\r\n+raw\r\n',
    );
  });

  it('never overwrites bytes it handed out, across slabs', () => {
    const writer = new RespWriter({ slabBytes: 32 });
    const taken: { bytes: Buffer; expected: string }[] = [];
    for (let index = 0; index < 200; index++) {
      writer.writeBulk(`value-${index}`);
      if (index % 3 === 0) writer.writeBulk('x'.repeat(index));
      const bytes = writer.take();
      taken.push({ bytes, expected: bytes.toString() });
    }
    for (const { bytes, expected } of taken) expect(bytes.toString()).toBe(expected);
  });

  it('keeps pending bytes when a write needs a new slab and drops them on reset', () => {
    const writer = new RespWriter({ slabBytes: 16 });
    writer.writeBulk('abcdef');
    writer.writeBulk('0123456789abcdef0123');
    expect(writer.take().toString()).toBe('$6\r\nabcdef\r\n$20\r\n0123456789abcdef0123\r\n');
    writer.writeSimple('gone');
    writer.reset();
    expect(writer.length).toBe(0);
  });

  it('writes one bulk from several parts, across a slab boundary', () => {
    const writer = new RespWriter({ slabBytes: 16 });
    writer.writeBulk('ab');
    writer.writeBulkParts([Buffer.from('0123456789'), new Uint8Array([0x41]), Buffer.from('xyz')]);
    writer.writeBulkParts([]);
    writer.writeBulkHeader(3).writeRaw(Buffer.from('xyz\r\n'));
    expect(writer.take().toString()).toBe('$2\r\nab\r\n$14\r\n0123456789Axyz\r\n$0\r\n\r\n$3\r\nxyz\r\n');
  });

  it('round-trips through the scanners', () => {
    const args = ['MSET', 'k1', 'v\r\n1', 'k2', ''];
    const bytes = encodeCommand(args);
    const scanner = new RequestScanner();
    expect(scanner.scan(bytes, 0, bytes.length)).toBe(bytes.length);
    const seen = [];
    for (let index = 0; index < scanner.argumentCount; index++) {
      seen.push(bytes.toString('utf8', scanner.argumentStarts[index], scanner.argumentEnds[index]));
    }
    expect(seen).toEqual(args);
    expect(decodeAll(bytes, { bulkAsString: true })).toEqual([args]);
  });
});
